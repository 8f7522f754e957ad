"""Filing crashes into clusters in the database.

The rule (syzbot's): a crash joins the cluster that already owns its title or one of its
alternative titles; corrupted reports share one flagged cluster. `ClusterTitle` rows make merges
stick: a merged-away title keeps pointing at the cluster it joined.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from triage.models import Cluster, ClusterTitle, Crash

CORRUPTED_TITLE = "corrupted report"


def live(cluster: Cluster) -> Cluster:
    """Follow merges to the cluster that is shown now."""
    seen = set()
    while cluster.merged_into_id and cluster.pk not in seen:
        seen.add(cluster.pk)
        cluster = cluster.merged_into
    return cluster


def cluster_for(title: str, alt_titles: list[str], kind: str, corrupted: bool, guilty: str = "") -> Cluster:
    """The cluster a report with these titles belongs to, created if none owns them yet."""
    if corrupted:
        title, alt_titles = CORRUPTED_TITLE, []
    owned = {ct.title: ct.cluster for ct in
             ClusterTitle.objects.filter(title__in=[title, *alt_titles]).select_related("cluster")}
    for candidate in (title, *alt_titles):
        if candidate in owned:
            return live(owned[candidate])
    try:
        with transaction.atomic():
            cluster = Cluster.objects.create(title=title, kind=kind, corrupted=corrupted, guilty_function=guilty)
            ClusterTitle.objects.create(title=title, cluster=cluster)
    except IntegrityError:  # another worker created it between our lookup and insert
        return live(ClusterTitle.objects.select_related("cluster").get(title=title).cluster)
    return cluster


def file_crash(crash: Crash) -> Cluster:
    cluster = cluster_for(crash.title, crash.alt_titles, crash.kind, crash.corrupted, crash.guilty_function)
    crash.cluster = cluster
    crash.save(update_fields=["cluster"])
    return cluster
