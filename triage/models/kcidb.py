"""KCIDB submissions being imported."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from triage.models.tokens import ApiToken


class KcidbImport(models.Model):
    """A KCIDB submission being imported: a worker fetches its tests' log_urls (minutes for a big one,
    which no web request should wait for) while the client polls it. Queued like logs and builds
    (task_token, queued_at, heartbeat: see triage.queueing)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    submission = models.JSONField()  # validated, upgraded to the latest schema
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField(default=dict, blank=True)  # triage.kcidb.ImportResult.to_dict(), as it goes
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"KCIDB import {self.pk} ({self.status})"
