"""Where a cluster page's counts (triage.cluster_groups) come from, cheapest first.

1. The shared cache (Redis in production): counts a page made in the last GROUPS_TTL seconds.
2. A ClusterCounts row: a worker counts a big cluster (TRIAGE_COUNTED_CLUSTER_SIZE crashes or more)
   after its crashes changed, so the first view of a cluster of 36,000 crashes in 22,000 runs reads
   one row instead of joining those runs (about 90 ms of PostgreSQL at a million crashes).
3. Counting now.

Cache entries are used only under the cluster's stamp (crash count, first and last crash), rows
under it too, or with the crashes filed since added by the page (a busy cluster gets crashes faster
than a worker recounts it); a crash taken out since (a split, a re-analysis) makes the page count for
itself until the worker has counted again. No page shows counts older than its cluster's crashes. Counting is debounced: a burst of
analyses filing into one cluster makes one count TRIAGE_CLUSTER_COUNT_DELAY seconds later. A lost
count message costs speed only: the page counts for itself until the next change queues another.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone

from triage.cluster_groups import SPLITS, CommitRuns, Groups, add_runs, crash_groups
from triage.models import Cluster, ClusterCounts, Crash

log = logging.getLogger(__name__)
GROUPS_TTL = 600  # a build uploaded later names its release on the page within this
QUEUED_FOR = 120  # seconds a queued count holds off others of the same cluster (a lost message, at most this)
MAX_ADDED = 2_000  # crashes filed since the worker's count that a page adds to it; past this it counts anew


def stamp(cluster: Cluster) -> str:
    """What a cluster's counts were counted under: they are its counts while this has not changed."""
    seen = [t.isoformat() if t else "" for t in (cluster.first_seen, cluster.last_seen)]
    return f"{cluster.crash_count}:{seen[0]}:{seen[1]}"


def page_groups(cluster: Cluster, split: str | None = None) -> Groups:
    """The counts of a cluster page (`split` the chart's: "commit", "config" or none)."""
    split = split if split in SPLITS else None
    key = f"cluster-groups:v2:{cluster.pk}:{stamp(cluster)}:{split or ''}"
    try:
        groups = cache.get(key)
    except Exception:  # the cache (Redis) is restarting: go on without it
        groups = None
    if groups is not None:
        return groups
    row = _kept(cluster)
    if row is not None and row[0] == stamp(cluster):  # as cheap to read again as the cache
        return from_json(row[1], split)
    groups = (_with_added(cluster, row, split) if row else None) or crash_groups(cluster.pk, split)
    with contextlib.suppress(Exception):  # unsaved: the next view counts again
        cache.set(key, groups, GROUPS_TTL)
    return groups


def stored_groups(cluster: Cluster, split: str | None = None) -> Groups | None:
    """The worker's counts of the cluster: as kept while they are still its counts; with the crashes
    filed since added (a few runs' worth, MAX_ADDED at most) while the crashes it counted are all still
    there and no other joined them (their number and the sum of their ids say so)."""
    row = _kept(cluster)
    if row is None:
        return None
    return from_json(row[1], split) if row[0] == stamp(cluster) else _with_added(cluster, row, split)


def _kept(cluster: Cluster) -> tuple | None:
    return (ClusterCounts.objects.filter(cluster_id=cluster.pk, time_zone=timezone.get_current_timezone_name())
            .values_list("stamp", "groups", "crashes", "last_crash_id", "crash_id_sum").first())


def _with_added(cluster: Cluster, row: tuple, split: str | None) -> Groups | None:
    _, data, crashes, last, id_sum = row
    if not last or not 0 < cluster.crash_count - crashes <= MAX_ADDED:
        return None
    counted = Crash.objects.filter(cluster_id=cluster.pk, id__lte=last).aggregate(n=Count("id"), ids=Sum("id"))
    if (counted["n"], counted["ids"] or 0) != (crashes, id_sum):  # some left, or older ones joined (a merge)
        return None
    groups = from_json(data, split)
    added = Crash.objects.filter(cluster_id=cluster.pk, id__gt=last)
    runs_counted = frozenset(Crash.objects.filter(cluster_id=cluster.pk, id__lte=last,
                                                  log_id__in=added.values("log_id")).values_list("log_id", flat=True))
    add_runs(groups, added, split, runs_counted)
    return groups


def count_cluster(cluster_id: int) -> bool:
    """Count a cluster for its page and keep the counts (the worker's task): False when it changed
    while being counted (its change queued another count) or is gone."""
    with contextlib.suppress(Exception):
        cache.delete(_queued_key(cluster_id))  # a change from now on queues a count after this one
    before = Cluster.objects.filter(pk=cluster_id).first()
    if before is None:
        return False
    ids = Crash.objects.filter(cluster_id=cluster_id).aggregate(n=Count("id"), last=Max("id"), ids=Sum("id"))
    counted = {split or "": crash_groups(cluster_id, split) for split in (None, *SPLITS)}
    after = Cluster.objects.filter(pk=cluster_id).first()
    if after is None:
        return False
    if stamp(after) != stamp(before):  # its change may have found our count queued and queued none
        counts_changed(after)
        return False
    ClusterCounts.objects.update_or_create(cluster_id=cluster_id, defaults={
        "stamp": stamp(after), "time_zone": timezone.get_current_timezone_name(), "groups": to_json(counted),
        "crashes": ids["n"], "last_crash_id": ids["last"] or 0, "crash_id_sum": ids["ids"] or 0})
    return True


def counts_changed(cluster: Cluster) -> None:
    """Called when a cluster's crashes changed (Cluster.refresh_stats): queue its count when it is big
    (sent when the transaction commits, at most one waiting per cluster); a small one is counted by
    its page in a few milliseconds, and no longer has a stored count to keep."""
    if cluster.crash_count < settings.TRIAGE_COUNTED_CLUSTER_SIZE:
        ClusterCounts.objects.filter(cluster_id=cluster.pk).delete()
        return
    try:
        first = cache.add(_queued_key(cluster.pk), 1, QUEUED_FOR)
    except Exception:  # no shared cache: queue it anyway (one count too many costs a query)
        first = True
    if first:
        from triage.queueing import send_on_commit
        from workers.tasks import count_cluster as task

        send_on_commit(task, cluster.pk, countdown=settings.TRIAGE_CLUSTER_COUNT_DELAY)


def runs_changed(log_ids: list[int]) -> None:
    """Logs changed what the counts say of them: a build matched after them (the kept counts name no
    build), or an analysis that failed on a log analysed before (its crashes stay, but it is no failing
    run any more). Their clusters' stored counts are dropped and counted again."""
    clusters = set(Crash.objects.filter(log_id__in=log_ids).exclude(cluster=None)
                   .values_list("cluster_id", flat=True).distinct())
    if not clusters:
        return
    ClusterCounts.objects.filter(cluster_id__in=clusters).delete()
    for cluster in Cluster.objects.filter(pk__in=clusters):
        counts_changed(cluster)


def _queued_key(cluster_id: int) -> str:
    return f"cluster-count-queued:{cluster_id}"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_json(counted: dict[str, Groups]) -> dict:
    """Groups (one per split, "" for none) as JSON: what they share once, the per-day rows per split."""
    groups = counted[""]
    return {
        "commits": [[c.tree, c.branch, c.commit, c.crashes, c.failing_runs, _time(c.first), _time(c.last)]
                    for c in groups.commits.values()],
        "jobs": sorted(groups.jobs),
        "seen": {name: [[list(value) if name == "builds" else value, n] for value, n in counter.items()]
                 for name, counter in groups.seen.items()},
        "per_day": {split: [[day.isoformat(), value, n] for day, value, n in g.per_day] for split, g in counted.items()},
    }


def from_json(data: dict, split: str | None) -> Groups:
    groups = Groups()
    for tree, branch, commit, crashes, failing, first, last in data["commits"]:
        groups.commits[(tree, branch, commit)] = CommitRuns(commit, tree, branch, crashes, failing, _parse_time(first),
                                                            _parse_time(last))
    groups.jobs = {tuple(job) for job in data["jobs"]}
    groups.seen = {name: Counter({tuple(value) if name == "builds" else value: n for value, n in rows})
                   for name, rows in data["seen"].items()}
    groups.per_day = [(date.fromisoformat(day), value, n) for day, value, n in data["per_day"][split or ""]]
    return groups
