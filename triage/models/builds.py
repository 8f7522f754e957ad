"""Kernel builds and their files (vmlinux, modules), indexed for decoding traces."""

from __future__ import annotations

from django.db import models
from django.urls import reverse


class Build(models.Model):
    """A kernel build: a vmlinux (with DWARF) and its modules, identified by build id / release."""

    class Index(models.TextChoices):
        NONE = "none", "no vmlinux"
        QUEUED = "queued", "queued"
        BUILDING = "building", "indexing"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    release = models.CharField(max_length=200, blank=True, db_index=True)  # `uname -r`
    buildid = models.CharField(max_length=80, blank=True, db_index=True)  # vmlinux GNU build-id, hex
    arch = models.CharField(max_length=32, blank=True)
    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64, blank=True, db_index=True)
    config = models.CharField(max_length=200, blank=True)
    index_status = models.CharField(max_length=16, choices=Index.choices, default=Index.NONE)
    index_progress = models.PositiveSmallIntegerField(default=0)  # percent, for the UI
    index_error = models.TextField(blank=True)
    index_dir = models.CharField(max_length=500, blank=True)  # on shared storage
    attempts = models.PositiveSmallIntegerField(default=0)  # index tasks started and not finished
    # Reliability (triage.queueing): which queuing is current, when it was sent, the running task's
    # last sign of life; the sweeper re-queues rows whose task is gone.
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    uploaded_token = models.ForeignKey("ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.release or self.buildid or f"build {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("build", args=[self.pk])


class BuildFile(models.Model):
    """One file of a build: the vmlinux, a module .ko, or a separate debug file."""

    class Kind(models.TextChoices):
        VMLINUX = "vmlinux"
        MODULE = "module"
        DEBUG = "debug"
        TARBALL = "tarball"  # a modules tarball, checked and extracted by the index task

    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255)  # "vmlinux", "lkdtm.ko"
    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT, uncompressed
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    buildid = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["build", "kind", "name"], name="unique_build_file")]
