"""Filing crashes into clusters in the database, and people's merges, splits and renames.

The rules are the engine's (`workers.cluster.Clusterer`): a crash joins the cluster that owns its
title key or one of its alternative title keys (syzbot's rule), aliases made by people win over
both, corrupted reports share one flagged cluster. Here we only load the few `ClusterTitle` rows a
crash's keys hit, let the engine decide, and store what it says.

Several worker processes file crashes at once: `ClusterTitle.title` is unique and there is only one
corrupted cluster (a partial unique constraint), so a lost race is an IntegrityError, rolled back to
a savepoint and retried. Merges move rows (titles become aliases of the survivor), so they stick:
new crashes of either title, and re-analysed old logs, follow.

Merges and splits must not miss a crash being filed beside them. On PostgreSQL a filer holds a
*shared* advisory lock on the cluster it chose until its transaction ends, and re-reads the title
rows under it; an edit takes the *exclusive* lock. Filers never block each other (a log's crashes
may go to several clusters in any order: row locks there would deadlock two workers), and the edit
only ever tries its locks (it never waits while holding one), so it cannot close a cycle either;
SQLite serializes writers anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q

from triage import cluster_facets
from triage.models import Cluster, ClusterEvent, ClusterTitle, Crash
from workers import cluster as engine
from workers.report import Frame, Report

CORRUPTED_TITLE = engine.CORRUPTED_KEY
RETRIES = 5
LOCK_SPACE = 0x747269  # first key of our advisory locks ("tri"), the cluster pk is the second
EDIT_WAIT = 10.0  # seconds an edit keeps trying to get a cluster that crashes are being filed into


class _Moved(Exception):
    """The titles we matched left the cluster while we waited for its lock."""


class ClusterEditError(ValueError):
    """A merge, split or rename that cannot be done (the message says why, for the page)."""


def live(cluster: Cluster) -> Cluster:
    """Follow merges to the cluster that is shown now."""
    seen = set()
    while cluster.merged_into_id and cluster.pk not in seen:
        seen.add(cluster.pk)
        cluster = cluster.merged_into
    return cluster


def _frame(data: Mapping[str, Any] | None) -> Frame | None:
    if not data:
        return None
    known = Frame.__dataclass_fields__
    return Frame(**{k: v for k, v in data.items() if k in known})


def report_of(crash: Crash) -> Report:
    """The engine's Report of a stored crash (its `report` JSON), the row's own fields as fallback."""
    data = crash.report or {}
    known = Report.__dataclass_fields__
    fields = {k: v for k, v in data.items() if k in known and k not in ("frames", "ip")}
    fields.update(title=crash.title, kind=crash.kind, alt_titles=list(crash.alt_titles or []),
                  corrupted=crash.corrupted)
    frames = [f for f in (_frame(d) for d in data.get("frames") or []) if f is not None]
    guilty = fields.get("guilty")
    if not isinstance(guilty, int) or not 0 <= guilty < len(frames):
        fields["guilty"] = None
    return Report(**fields, frames=frames, ip=_frame(data.get("ip")))


# --- locks ----------------------------------------------------------------------------------------


def _lock_key(pk: int) -> int:
    return pk % 2**31  # advisory keys are int4 pairs; a collision only makes someone wait


def _share(pk: int) -> None:
    """Until this transaction ends, no merge or split of cluster `pk` can start (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_SPACE, _lock_key(pk)])


class _Busy(Exception):
    """A cluster an edit needs is held by a worker filing into it, or by another edit."""


def _take_exclusive(pks: Iterable[int]) -> None:
    """Hold clusters for a person's edit until the transaction ends (PostgreSQL).

    Only tries (never waits while holding one: no deadlock with workers); when a lock is taken, the
    transaction is rolled back by the caller, which lets go of the others, and tried again.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted({_lock_key(pk) for pk in pks}):
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_SPACE, key])
            if not cursor.fetchone()[0]:
                raise _Busy


# --- filing ---------------------------------------------------------------------------------------


def _corrupted_cluster() -> Cluster:
    # never merged nor split, so no lock: a concurrent creator is caught by the unique constraint
    cluster = Cluster.objects.filter(corrupted=True).first()
    if cluster is None:
        with transaction.atomic():  # savepoint: a concurrent creator makes this an IntegrityError
            cluster = Cluster.objects.create(title=CORRUPTED_TITLE, kind="corrupted", corrupted=True)
    return cluster


def _engine_state(keys: list[str], previous: int | None = None) -> tuple[engine.Clusterer, dict[str, Cluster]]:
    """A Clusterer that knows only the clusters owning one of `keys` (all that `find` looks at),
    and the crash's previous cluster if any."""
    rows = list(ClusterTitle.objects.filter(title__in=keys).select_related("cluster"))
    clusters: dict[str, engine.Cluster] = {}
    db: dict[str, Cluster] = {}
    aliases: dict[str, str] = {}
    before = Cluster.objects.filter(pk=previous).first() if previous else None
    if before is not None and not live(before).corrupted:
        before = live(before)
        db[str(before.pk)] = before
        clusters[str(before.pk)] = engine.Cluster(key=str(before.pk), title=before.title,
                                                  signature=tuple(before.signature or ()))
    for row in rows:
        target = live(row.cluster)
        if target.corrupted:
            continue
        key = str(target.pk)
        db[key] = target
        ec = clusters.setdefault(key, engine.Cluster(key=key, title=target.title,
                                                     signature=tuple(target.signature or ())))
        if row.source == ClusterTitle.Source.ALIAS:
            aliases[row.title] = key
        elif row.source == ClusterTitle.Source.ALT:
            ec.alt_titles.add(row.title)
        else:
            ec.titles.add(row.title)
    return engine.Clusterer(clusters.values(), aliases), db


def _file_once(crash: Crash, report: Report, previous: int | None) -> Cluster:
    if engine.in_bucket(report):
        return _corrupted_cluster()
    keys = list(dict.fromkeys(k[:500] for k in engine.report_titles(report)))  # ClusterTitle.title's size
    clusterer, db = _engine_state(keys, previous)
    assignment = clusterer.assign_detail(report, previous=str(previous) if previous else None)
    found = clusterer.clusters[assignment.key]
    if assignment.created:
        with transaction.atomic():
            cluster = Cluster.objects.create(
                title=crash.title or found.title, kind=crash.kind,
                guilty_function=(found.guilty or crash.guilty_function or "")[:200],
                signature=list(found.signature))
            ClusterTitle.objects.bulk_create(
                [ClusterTitle(title=k, cluster=cluster,
                              source=ClusterTitle.Source.TITLE if k == keys[0] else ClusterTitle.Source.ALT)
                 for k in keys])
        return cluster
    pk = db[assignment.key].pk
    _share(pk)  # from here to our commit no merge or split of it can run; re-read under the lock
    cluster = Cluster.objects.get(pk=pk)
    owners = dict(ClusterTitle.objects.filter(title__in=keys).values_list("title", "cluster_id"))
    if cluster.merged_into_id or (assignment.via != "previous" and cluster.pk not in owners.values()):
        raise _Moved  # a merge or split committed between our look-up and the lock: look again
    owned = set(owners)
    # a crash kept in its previous cluster (its title changed with a parser upgrade): the new title
    # becomes an alias there, so history and merges survive the upgrade (the engine's rule)
    first = ClusterTitle.Source.ALIAS if assignment.via == "previous" else ClusterTitle.Source.TITLE
    ClusterTitle.objects.bulk_create(
        [ClusterTitle(title=k, cluster=cluster, source=first if k == keys[0] else ClusterTitle.Source.ALT)
         for k in keys if k not in owned], ignore_conflicts=True)
    changed = []
    if not cluster.guilty_function and (found.guilty or crash.guilty_function):
        cluster.guilty_function = (found.guilty or crash.guilty_function)[:200]
        changed.append("guilty_function")
    if not cluster.signature and found.signature:
        cluster.signature = list(found.signature)
        changed.append("signature")
    # cosmetic, and a row lock taken here (crash order) could deadlock with another worker's
    # recount (pk order): skip it when the row is busy, a later crash fills it in
    if changed and Cluster.objects.select_for_update(skip_locked=True).filter(pk=cluster.pk).exists():
        cluster.save(update_fields=changed)
    return cluster


def file_crash(crash: Crash, previous: int | None = None) -> Cluster:
    """Put a stored crash into its cluster (created when none owns its titles); returns the cluster.

    `previous`: when a log is analysed again, the cluster its crash at the same index was in. Used
    only when the (new) title matches no cluster: the crash then stays where it was.
    """
    report = report_of(crash)
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                cluster = _file_once(crash, report, previous)
                crash.cluster = cluster
                crash.save(update_fields=["cluster"])
            return cluster
        except (IntegrityError, _Moved):  # another worker or a person changed what we read: look again
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


# --- people's edits -------------------------------------------------------------------------------


def _locked(*pks: int) -> dict[int, Cluster]:
    # lock in pk order so that two edits of the same pair cannot deadlock
    return {c.pk: c for c in Cluster.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


def _edit(pks: Iterable[int], change):
    """Run `change()` in a transaction holding the clusters, retried while they are busy."""
    pks = list(pks)
    deadline = time.monotonic() + EDIT_WAIT
    while True:
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":  # a worker's recount holds rows briefly: wait, not forever
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL lock_timeout = '500ms'")
                _take_exclusive(pks)
                return change()
        except (_Busy, OperationalError):
            if time.monotonic() > deadline:
                raise ClusterEditError("crashes are being filed into this cluster right now: try again") from None
            time.sleep(0.05)


def merge(src_pk: int, dst_pk: int, user=None) -> Cluster:
    """Merge cluster `src` into `dst`: its crashes move, its titles become aliases of `dst`."""
    dst = Cluster.objects.filter(pk=dst_pk).first()
    return _edit([src_pk, dst_pk, live(dst).pk if dst else dst_pk], lambda: _merge(src_pk, dst_pk, user))


def _merge(src_pk: int, dst_pk: int, user) -> Cluster:
    locked = _locked(src_pk, dst_pk)
    src, dst = locked.get(src_pk), locked.get(dst_pk)
    if src is None or dst is None:
        raise ClusterEditError("no such cluster")
    dst = live(dst)
    if src.pk == dst.pk:
        raise ClusterEditError("a cluster cannot be merged into itself")
    if src.merged_into_id:
        raise ClusterEditError(f"cluster #{src.pk} was already merged into #{src.merged_into_id}")
    if src.corrupted or dst.corrupted:
        raise ClusterEditError("the corrupted-report cluster cannot be merged")
    ClusterTitle.objects.filter(cluster=src).exclude(source=ClusterTitle.Source.ALT).update(
        cluster=dst, source=ClusterTitle.Source.ALIAS)
    ClusterTitle.objects.filter(cluster=src).update(cluster=dst)
    Crash.objects.filter(cluster=src).update(cluster=dst)
    cluster_facets.merged(src.pk, dst.pk)
    Cluster.objects.filter(merged_into=src).update(merged_into=dst)
    src.merged_into = dst
    src.save(update_fields=["merged_into"])
    if not dst.guilty_function and src.guilty_function:
        dst.guilty_function = src.guilty_function
        dst.save(update_fields=["guilty_function"])
    src.refresh_stats()
    dst.refresh_stats()
    detail = f"#{src.pk} “{src.title}” merged into #{dst.pk} “{dst.title}”"
    _record("merge", detail, user, dst, src)
    return dst


def _record(action: str, detail: str, user, *clusters: Cluster) -> None:
    """The same event on every cluster an edit touched, so each one's history shows it."""
    ClusterEvent.objects.bulk_create([ClusterEvent(cluster=c, action=action, detail=detail, user=user)
                                      for c in clusters])


def split(pk: int, titles: Iterable[str], new_title: str = "", user=None) -> Cluster:
    """Move some title keys of a cluster (and the crashes with those titles) to a new cluster."""
    return _edit([pk], lambda: _split(pk, list(titles), new_title, user))


def _split(pk: int, titles: list[str], new_title: str, user) -> Cluster:
    cluster = _locked(pk).get(pk)
    if cluster is None:
        raise ClusterEditError("no such cluster")
    if cluster.corrupted:
        raise ClusterEditError("the corrupted-report cluster cannot be split")
    own = set(ClusterTitle.objects.filter(cluster=cluster).exclude(source=ClusterTitle.Source.ALT)
              .values_list("title", flat=True))
    moved = {engine.title_key(t) for t in titles} & own
    if not moved or moved == own:
        raise ClusterEditError("a split must move some, not all, of the cluster's titles")
    crash_titles = set(Crash.objects.filter(cluster=cluster).values_list("title", flat=True).distinct())
    moving_titles = [t for t in crash_titles if engine.title_key(t) in moved]
    example = Crash.objects.filter(cluster=cluster, title__in=moving_titles).order_by("pk").first()
    new = Cluster.objects.create(
        title=(new_title.strip() or (example.title if example else sorted(moved)[0]))[:500],
        kind=example.kind if example else cluster.kind,
        guilty_function=example.guilty_function if example else "",
        signature=list(engine.frame_signature(report_of(example))) if example else [])
    # aliases: a person decided, so new crashes of these titles follow the split too
    ClusterTitle.objects.filter(cluster=cluster, title__in=moved).update(
        cluster=new, source=ClusterTitle.Source.ALIAS)
    Crash.objects.filter(cluster=cluster, title__in=moving_titles).update(cluster=new)
    cluster_facets.recount([cluster.pk, new.pk])
    cluster.refresh_stats()
    new.refresh_stats()
    detail = f"titles {', '.join(sorted(moved))} split from #{cluster.pk} into #{new.pk}"
    _record("split", detail, user, cluster, new)
    return new


def rename(pk: int, title: str, user=None) -> Cluster:
    """Change what people read; the title keys that match crashes stay."""
    title = title.strip()[:500]
    if not title:
        raise ClusterEditError("the new title is empty")
    with transaction.atomic():
        cluster = _locked(pk).get(pk)
        if cluster is None:
            raise ClusterEditError("no such cluster")
        old = cluster.title
        cluster.title = title
        cluster.save(update_fields=["title"])
        ClusterEvent.objects.create(cluster=cluster, action="rename", detail=f"“{old}” → “{title}”", user=user)
    return cluster


# --- similar clusters -----------------------------------------------------------------------------

# The most recently seen clusters are compared (older bugs rarely come back): similar() takes ~10 ms for
# 1,000 signatures with varied top frames, ~50 ms when most share a few (bench numbers in the note).
SIMILAR_POOL = 1000


def similar_clusters(cluster: Cluster, limit: int = 10) -> list[tuple[Cluster, float]]:
    """Live clusters whose frame signatures look like this one's (engine's `similar()`), best first.

    Two queries: the signatures of the recent live clusters, then the matching rows. similar()
    indexes clusters by their top frames, so it only scores pairs sharing a crash point.
    """
    if cluster.corrupted or len(cluster.signature or ()) < 2:
        return []
    pool = list(Cluster.objects.filter(merged_into=None, corrupted=False).exclude(signature=[])
                .order_by("-last_seen").values_list("pk", "signature")[:SIMILAR_POOL])
    if cluster.pk not in {pk for pk, _ in pool}:
        pool.append((cluster.pk, cluster.signature))
    mine = str(cluster.pk)
    scores: dict[int, float] = {}
    for a, b, score in engine.similar(engine.Cluster(key=str(pk), title="", signature=tuple(sig or ()))
                                      for pk, sig in pool):
        if mine in (a, b):
            scores[int(b if a == mine else a)] = score
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    rows = Cluster.objects.in_bulk([pk for pk, _ in best])
    return [(rows[pk], score) for pk, score in best if pk in rows]


def clusters_matching(query: str) -> Q:
    """A filter for the cluster list: title words."""
    q = Q()
    for word in query.split():
        q &= Q(title__icontains=word)
    return q
