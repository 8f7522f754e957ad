"""The crash reports found in logs, and the ids of those a re-analysis no longer finds."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from triage.models.clusters import Cluster
from triage.models.logs import Log


class CrashQuerySet(models.QuerySet):
    def for_rows(self) -> CrashQuerySet:
        """What a list of crashes shows (`_crash_rows.html`) and no more: a crash's report and decoded
        trace are kilobytes each, which a filtered list sorting a commit's thousands of crashes carried
        through its sort to show fifty."""
        return self.select_related("log", "cluster").only(
            "log_id", "index", "title", "kind", "corrupted", "cluster_id", "cluster__status",
            "log__filename", "log__commit", "log__config", "log__arch", "log__test", "log__created")


class Crash(models.Model):
    """One crash report found in a log."""

    objects = CrashQuerySet.as_manager()

    class Decode(models.TextChoices):
        WAITING = "waiting", "waiting for a matching build"
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="crashes")
    index = models.PositiveIntegerField()  # position of the report in its log; 0 is the primary
    title = models.CharField(max_length=500, db_index=True)
    alt_titles = models.JSONField(default=list)
    kind = models.CharField(max_length=64, blank=True, db_index=True)
    corrupted = models.BooleanField(default=False)
    guilty_function = models.CharField(max_length=200, blank=True)
    report = models.JSONField(default=dict)  # workers.report.Report.to_dict()
    start_line = models.PositiveIntegerField(default=0)
    end_line = models.PositiveIntegerField(default=0)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="crashes")
    decode_status = models.CharField(max_length=16, choices=Decode.choices, default=Decode.WAITING)
    decode_error = models.TextField(blank=True)
    decoded = models.JSONField(null=True, blank=True)  # symbolized frames and Code: blocks
    # Function names and source files of the frames, printed and decoded: what the search box matches
    # (triage.search.crash_search_text; trigram-indexed on PostgreSQL).
    search_text = models.TextField(blank=True, default="")
    # The source file the crash points at (decoded guilty frame, else `kernel BUG at` / `WARNING: at`)
    # and its most specific MAINTAINERS section (shown), and every section but THE REST, most specific
    # first, as "|LKDTM|MISC DRIVERS|" (what filters and digests match, triage.subsystems.in_section):
    # triage.subsystems fills all three.
    guilty_file = models.CharField(max_length=300, blank=True, default="")
    subsystem = models.CharField(max_length=200, blank=True, default="", db_index=True)
    subsystems = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-log__created", "index"]
        constraints = [models.UniqueConstraint(fields=["log", "index"], name="unique_log_report")]
        # A cluster's pages count and group its crashes by their logs: with the id included, PostgreSQL
        # answers from this index alone instead of visiting crash rows spread over the whole table.
        # (kind, id): the crashes list sorted by kind reads a page in order (a kind is a seventh of the
        # table: with the kind index alone each page sorted every crash of the kind by id).
        indexes = [models.Index(fields=["cluster", "log"], include=["id"], name="crash_cluster_log"),
                   models.Index(fields=["kind", "id"], name="crash_kind_id"),
                   # the crashes list of a kind sorted by title: titles begin with their kind, so the
                   # title index walked for one kind passes every crash of the kinds before it
                   models.Index(fields=["kind", "title", "id"], name="crash_kind_title_id")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("crash", args=[self.pk])


# --- series and regressions (issue 9) -------------------------------------------------------------


class VanishedCrash(models.Model):
    """A crash that a re-analysis no longer finds (parser change): its old URL answers 410 from this."""

    crash_id = models.BigIntegerField(primary_key=True)  # the id the crash had
    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="vanished_crashes")
    title = models.CharField(max_length=500)
    start_line = models.PositiveIntegerField(default=0)
    cluster_id = models.BigIntegerField(null=True, blank=True)
    vanished = models.DateTimeField(auto_now_add=True)
