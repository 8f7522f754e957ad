"""Regressions the app finds by itself: jobs (what is run where), commits in order, regressions."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from triage.models.clusters import Cluster
from triage.models.logs import Log


class SeriesCommit(models.Model):
    """A commit of a tree/branch: series order is the first arrival of a run, after a named parent."""

    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64)
    parent = models.CharField(max_length=64, blank=True)  # the first upload that named one wins
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tree", "branch", "commit"], name="unique_series_commit")]


class Job(models.Model):
    """What CI runs again and again (Log.JOB); runs of a job on two commits are compared."""

    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    config = models.CharField(max_length=200, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    test = models.CharField(max_length=200, blank=True)
    check_queued = models.DateTimeField(null=True, blank=True)  # debounce: a check task is on its way
    checked = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tree", "branch", "config", "arch", "test"],
                                               name="unique_job")]

    def __str__(self) -> str:
        return " ".join(v for v in (self.tree, self.branch, self.config, self.arch, self.test) if v) or "any"

    def filters(self, prefix: str = "") -> dict[str, str]:
        return {prefix + f: getattr(self, f) for f in Log.JOB}


class Regression(models.Model):
    """A cluster or stat key failing on a commit of a job and never on the commit before it."""

    class State(models.TextChoices):
        SUSPECTED = "suspected"  # Fisher's test cannot call it yet (one run each side)
        CONFIRMED = "confirmed"
        DISMISSED = "dismissed"  # it fails on the last good commit too

    class Kind(models.TextChoices):
        NEW = "new", "new failure"
        AFTER_FIX = "after_fix", "seen again after fix"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="regressions")
    key = models.CharField(max_length=500)  # engine key: "cluster:<pk>" or a stat key
    keys = models.JSONField(default=list)  # every key that regressed with it (stat keys, clusters)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="regressions")
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NEW)
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    first_bad_commit = models.CharField(max_length=64)
    last_good_commit = models.CharField(max_length=64, blank=True)
    latest_bad_commit = models.CharField(max_length=64, blank=True)
    bad_commits = models.PositiveIntegerField(default=1)
    fail_bad = models.PositiveIntegerField(default=0)
    runs_bad = models.PositiveIntegerField(default=0)
    fail_good = models.PositiveIntegerField(default=0)
    runs_good = models.PositiveIntegerField(default=0)
    p_value = models.FloatField(default=1.0)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["job", "key", "first_bad_commit"], name="unique_regression")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("regression", args=[self.pk])
