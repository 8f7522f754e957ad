"""Which trees, branches, configs, arches, tests and MAINTAINERS sections each cluster has crashes in
(ClusterFacet).

The clusters list filtered by a tree asked every crash of that tree for its cluster: a quarter of a
million crashes joined to their runs, 200-360 ms at a million crashes. A run's metadata never changes
once analysed, so a cluster's facets are added as its crashes are filed (`add`), and counted again from
its crashes only when it loses some (`recount`: a split, a merge, a re-analysis that filed a crash
elsewhere). Rows are only ever added outside a recount, so two workers filing at once cannot lose one.
A crash's sections can change after it is filed (its decoded guilty frame, a new MAINTAINERS): a
cluster whose crash left a section has its sections counted again (`sections_filed`).
"""

from __future__ import annotations

from collections.abc import Iterable

from triage.models import ClusterFacet, Crash, Log
from triage.subsystems import split

FIELDS = ("tree", "branch", "config", "arch", "test")
SECTION = "subsystem"  # the facet of a MAINTAINERS section (Crash.subsystems)


def add(log: Log, cluster_ids: Iterable[int]) -> None:
    """The run `log` has crashes in these clusters."""
    rows = [ClusterFacet(cluster_id=pk, name=name, value=getattr(log, name))
            for pk in set(cluster_ids) if pk for name in FIELDS if getattr(log, name)]
    ClusterFacet.objects.bulk_create(rows, ignore_conflicts=True)


def recount(cluster_ids: Iterable[int]) -> None:
    """The facets of these clusters from their crashes (after some left them)."""
    pks = {pk for pk in cluster_ids if pk}
    if not pks:
        return
    ClusterFacet.objects.filter(cluster_id__in=pks).exclude(name=SECTION).delete()
    for name in FIELDS:
        seen = (Crash.objects.filter(cluster_id__in=pks).exclude(**{f"log__{name}": ""})
                .values_list("cluster_id", f"log__{name}").distinct().order_by())
        ClusterFacet.objects.bulk_create([ClusterFacet(cluster_id=pk, name=name, value=value) for pk, value in seen],
                                         ignore_conflicts=True)
    recount_sections(pks)


def sections_filed(crashes: Iterable[Crash], before: dict[int, str]) -> None:
    """These crashes were filed under their sections (Crash.subsystems), `before` their earlier values
    by crash id: the sections are added to their clusters; a cluster one of them left is counted again."""
    crashes = [c for c in crashes if c.cluster_id]
    left = {c.cluster_id for c in crashes if set(split(before.get(c.pk, ""))) - set(split(c.subsystems))}
    recount_sections(left)
    ClusterFacet.objects.bulk_create([ClusterFacet(cluster_id=c.cluster_id, name=SECTION, value=name[:200])
                                      for c in crashes if c.cluster_id not in left for name in split(c.subsystems)],
                                     ignore_conflicts=True)


def recount_sections(pks: set[int]) -> None:
    """The sections of these clusters from their crashes."""
    pks = {pk for pk in pks if pk}
    if not pks:
        return
    ClusterFacet.objects.filter(cluster_id__in=pks, name=SECTION).delete()
    stored = (Crash.objects.filter(cluster_id__in=pks).exclude(subsystems="").values_list("cluster_id", "subsystems")
              .distinct().order_by())
    ClusterFacet.objects.bulk_create([ClusterFacet(cluster_id=pk, name=SECTION, value=name[:200])
                                      for pk, value in stored for name in split(value)], ignore_conflicts=True)


def merged(src: int, dst: int) -> None:
    """Cluster `src`'s crashes all went to `dst`: so did its facets."""
    ClusterFacet.objects.bulk_create([ClusterFacet(cluster_id=dst, name=name, value=value) for name, value in
                                      ClusterFacet.objects.filter(cluster_id=src).values_list("name", "value")],
                                     ignore_conflicts=True)
    ClusterFacet.objects.filter(cluster_id=src).delete()


def clusters_in(name: str, value: str):
    """Ids of the clusters with crashes in runs where `name` (a Log field) is `value` (a subquery)."""
    return ClusterFacet.objects.filter(name=name, value=value).values("cluster_id")


def clusters_in_section(section: str):
    """Ids of the clusters with crashes filed under a MAINTAINERS section named in any case (a subquery).
    The sections filed (cached) that match are looked up among the facets; a section newer than the
    cached list is looked for among the crashes."""
    from triage import subsystems

    wanted = section.strip().casefold()
    names = [n for n in subsystems.filed_names() if n.casefold() == wanted]
    if not names:
        return Crash.objects.filter(subsystems.in_section(section)).values("cluster_id")
    return ClusterFacet.objects.filter(name=SECTION, value__in=names).values("cluster_id")
