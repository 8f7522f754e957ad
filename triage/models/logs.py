"""Uploaded console logs (one log = one run) and the stat keys the robot would give them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from triage.models.builds import Build


class Log(models.Model):
    """An uploaded console log: one run of a test on a build. Runs without a crash count too."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    # Identity: the same bytes with the same metadata are the same upload (idempotent re-uploads).
    fingerprint = models.CharField(max_length=64, unique=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    raw = models.CharField(max_length=500)  # path of the stored bytes, relative to MEDIA_ROOT
    filename = models.CharField(max_length=255, blank=True)

    tree = models.CharField(max_length=200, blank=True, db_index=True)
    branch = models.CharField(max_length=200, blank=True, db_index=True)
    commit = models.CharField(max_length=64, blank=True, db_index=True)
    config = models.CharField(max_length=200, blank=True, db_index=True)
    arch = models.CharField(max_length=32, blank=True, db_index=True)
    test = models.CharField(max_length=200, blank=True, db_index=True)
    machine = models.CharField(max_length=200, blank=True, db_index=True)
    run_id = models.CharField(max_length=200, blank=True)
    parent = models.CharField(max_length=64, blank=True)  # the commit this one is based on (robot's "base")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    # Tasks started on this log and not finished: a worker killed mid-task (out of memory) leaves it
    # set, and a log that keeps killing workers is given up on instead of being redelivered forever.
    attempts = models.PositiveIntegerField(default=0)
    decode_attempts = models.PositiveSmallIntegerField(default=0)
    # Decoding of the log's crashes (triage.decode_queue): the queuing its message carries (cleared
    # when a worker takes it), the last sign of life (queued, taken, heartbeat) and the sweeper's
    # re-sends since a decode last finished.
    decode_token = models.CharField(max_length=32, blank=True)
    decode_beat = models.DateTimeField(null=True, blank=True)
    decode_requeues = models.PositiveSmallIntegerField(default=0)
    analyses = models.PositiveIntegerField(default=0)  # analyses saved (re-analysis adds one; bench/api_bots.py)
    # Reliability (triage.queueing): as on Build.
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_token = models.ForeignKey("ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    processed = models.DateTimeField(null=True, blank=True)

    # Filled by the analysis task.
    release = models.CharField(max_length=200, blank=True)
    buildid = models.CharField(max_length=80, blank=True)
    build = models.ForeignKey(Build, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    stat_source = models.CharField(max_length=8, default="dmesg")
    crash_count = models.PositiveIntegerField(default=0)
    # Reports past TRIAGE_MAX_REPORTS_PER_LOG: counted, not stored (syzkaller keeps the first ones too).
    reports_dropped = models.PositiveIntegerField(default=0)
    # What the parser lists beside crashes (OOM kills, NMI backtraces): [{"title", "kind", "start_line",
    # "end_line"}]. Not crashes (syzbot does not count them), but worth seeing on the log's page.
    notices = models.JSONField(default=list, blank=True)

    METADATA = ("tree", "branch", "commit", "config", "arch", "test", "machine", "run_id", "parent")
    JOB = ("tree", "branch", "config", "arch", "test")  # what CI runs again and again, on each commit

    class Meta:
        ordering = ["-created"]
        # The logs list's sortable columns, each with the id that breaks its ties (triage.listing): a
        # page is read in order from the index, where the column's own index (a tree is a quarter of the
        # logs) left every log of the value to be sorted by id. The crashes list sorted by commit walks
        # (commit, id) too, one log's crashes at a time.
        indexes = [models.Index(fields=[f, "id"], name=f"log_{f}_id")
                   for f in ("status", "tree", "commit", "config", "arch", "test", "crash_count", "filename")]

    def __str__(self) -> str:
        return self.filename or f"log {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("log", args=[self.pk])


class StatKey(models.Model):
    """One 0-day stat key of a run (`dmesg.BUG:KASAN:...`), counted once per run: fail:runs rows."""

    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="stat_keys")
    key = models.CharField(max_length=500, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["log", "key"], name="unique_log_key")]
