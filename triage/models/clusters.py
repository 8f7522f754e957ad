"""Clusters of similar crashes: their titles, history and links to bug trackers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Cluster(models.Model):
    """A group of crashes that are the same bug. Merged clusters point at the one they joined."""

    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=64, blank=True)
    corrupted = models.BooleanField(default=False)  # the one bucket for corrupted reports
    guilty_function = models.CharField(max_length=200, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged")
    # Denormalized for list pages; recomputed by `refresh_stats()` when crashes join or leave.
    crash_count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    # workers.cluster.frame_signature of its first crash: what similar() compares across titles.
    signature = models.JSONField(default=list, blank=True)

    class Status(models.TextChoices):
        OPEN = "open"
        FIXED = "fixed"
        INVALID = "invalid"
        DUPLICATE = "duplicate"

    # Triage state: who said what of this bug. History is in ClusterEvent.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    fixed_commit = models.CharField(max_length=64, blank=True)  # with status fixed
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates")  # with status duplicate
    status_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    status_changed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        # Merges, splits, renames, status, links, notes and re-queueing: granted through the
        # "triagers" group (see triage.permissions), not to every account.
        permissions = [("triage_clusters", "Can triage: edit clusters and their status, re-queue analyses")]
        constraints = [
            # several workers may meet their first corrupted report at once: one bucket only
            models.UniqueConstraint(fields=["corrupted"], condition=models.Q(corrupted=True),
                                    name="one_corrupted_cluster"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("cluster", args=[self.pk])

    def refresh_stats(self) -> None:
        agg = self.crashes.aggregate(n=models.Count("id"), first=models.Min("log__created"),
                                     last=models.Max("log__created"))
        self.crash_count, self.first_seen, self.last_seen = agg["n"], agg["first"], agg["last"]
        self.save(update_fields=["crash_count", "first_seen", "last_seen"])
        from triage.cluster_counts import counts_changed  # (it reads these models)

        counts_changed(self)


class ClusterTitle(models.Model):
    """Title key -> cluster: how a new crash finds its cluster. Merges move rows, so they stick.

    `title` is `workers.cluster.title_key()` of a crash title (or alternative title), unique: one
    owner per key. `source` says which index of the engine the row feeds: a cluster's own titles,
    its alternative titles, or an alias made by a person (merge, split), which wins over both.
    """

    class Source(models.TextChoices):
        TITLE = "title"
        ALT = "alt", "alternative title"
        ALIAS = "alias", "merged or split by a person"

    title = models.CharField(max_length=500, unique=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="titles")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.TITLE)


class ClusterEvent(models.Model):
    """Who merged, split or renamed what, and when."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16)  # merge | split | rename
    detail = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]


class ClusterLink(models.Model):
    """A bug report, patch or discussion about a cluster: a URL with a label (triage state, issue 9)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="links")
    url = models.URLField(max_length=1000)
    label = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]


class ClusterCounts(models.Model):
    """A big cluster's page counts (triage.cluster_groups.Groups as JSON), counted by a worker after
    its crashes changed (triage.cluster_counts), so its page need not join its tens of thousands of
    runs. Used only while `stamp` is the cluster's own: a crash filed or removed since makes the page
    count for itself until the worker has counted again."""

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, primary_key=True, related_name="counts")
    stamp = models.CharField(max_length=100)  # triage.cluster_counts.stamp() when counted
    # the crashes counted: how many, the newest id and the ids' sum (crashes filed since are added to
    # the counts by the page while these still describe the older crashes)
    crashes = models.PositiveIntegerField(default=0)
    last_crash_id = models.BigIntegerField(default=0)
    crash_id_sum = models.BigIntegerField(default=0)
    time_zone = models.CharField(max_length=64)  # the days of the per-day counts are days there
    groups = models.JSONField()
    counted = models.DateTimeField(auto_now=True)


class ClusterFacet(models.Model):
    """A tree (branch, config, arch, test) a cluster has crashes in: what the clusters list filters by,
    without joining a tree's hundreds of thousands of crashes. Added as crashes are filed; a cluster's
    rows are counted again when it loses crashes (split, merge, re-analysis). See triage.cluster_facets."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="facets")
    name = models.CharField(max_length=16)  # a Log field: tree, branch, config, arch or test
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "value", "cluster"], name="one_facet_per_cluster")]
