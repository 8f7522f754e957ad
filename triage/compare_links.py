"""Naming the comparison rows a page shows: cluster titles, and for a stat key the cluster seen in the
same runs (two queries for the rows shown, not for the thousands a busy comparison has)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q

from triage.models import Cluster, Crash, Log, StatKey

if TYPE_CHECKING:
    from triage.comparisons import Result, Row


CANDIDATES = 3  # clusters per key whose name is checked whole, those naming it first


def _stat_links(keys: set[str], runs: Q) -> dict[str, tuple[int, int]]:
    """Stat key -> (cluster, example crash): the cluster of the report the key was derived from.

    A stat key and a crash title are two names of one report, so they meet in the same runs. Which
    one is the key's among a run's clusters: first a cluster whose guilty function the key names
    (`dmesg.BUG:KASAN:use-after-free_in_foo_bar` is `... in foo_bar`'s; a run with a hundred reports
    shares all its runs with a hundred clusters). Else the runs are compared as sets: the cluster with
    the highest Jaccard index (runs together / runs with either), then more runs together. Counting
    only the runs together sent every key to the big cluster failing in most runs
    (`dmesg.lockdep:in_kmem_unlock` to the panic seen everywhere). Only the keys asked for: a page
    links the rows it shows.
    """
    if not keys:
        return {}
    # the runs joined first, by the exact commits (see _exact_q): the planner then walks the runs' own
    # keys and crashes by their log indexes instead of every run's rows with one of the keys
    run_sql, params = Log.objects.filter(runs).order_by().values("id").query.sql_with_params()
    marks = ", ".join(["%s"] * len(keys))
    find = "strpos" if connection.vendor == "postgresql" else "instr"  # a substring's position
    sql = f"""
        WITH r AS ({run_sql}),
        lc AS (SELECT c.log_id, c.cluster_id, MAX(c.id) AS ex
               FROM {Crash._meta.db_table} c JOIN r ON c.log_id = r.id
               WHERE c.cluster_id IS NOT NULL GROUP BY c.log_id, c.cluster_id),
        cr AS (SELECT cluster_id, COUNT(*) AS runs FROM lc GROUP BY cluster_id),
        kk AS (SELECT k.key, k.log_id FROM {StatKey._meta.db_table} k JOIN r ON k.log_id = r.id
               WHERE k.key IN ({marks})),
        kr AS (SELECT key, COUNT(*) AS runs FROM kk GROUP BY key),
        pairs AS (SELECT kk.key, lc.cluster_id, COUNT(*) AS together, MAX(lc.ex) AS ex
                  FROM kk JOIN lc ON lc.log_id = kk.log_id GROUP BY kk.key, lc.cluster_id)
        SELECT key, cluster_id, ex, guilty_function FROM (
            SELECT p.key, p.cluster_id, p.ex, cl.guilty_function,
                   ROW_NUMBER() OVER (PARTITION BY p.key ORDER BY
                       CASE WHEN cl.guilty_function <> '' AND {find}(p.key, cl.guilty_function) > 0
                            THEN LENGTH(cl.guilty_function) ELSE 0 END DESC,
                       CAST(p.together AS REAL) / (kr.runs + cr.runs - p.together) DESC,
                       p.together DESC, p.cluster_id) AS rank
            FROM pairs p JOIN kr ON kr.key = p.key JOIN cr ON cr.cluster_id = p.cluster_id
                JOIN {Cluster._meta.db_table} cl ON cl.id = p.cluster_id) ranked
        WHERE rank <= {CANDIDATES}
        ORDER BY key, rank"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *sorted(keys)])
        candidates = cursor.fetchall()
    # the database ranked the clusters whose function the key contains first, the longest name first;
    # contains is not names (`foo_bar` contains foo): the first named whole wins, else the best by runs
    links: dict[str, tuple[int, int]] = {}
    named: set[str] = set()
    for key, cid, example, function in candidates:
        links.setdefault(key, (cid, example))
        if key not in named and function and _names(key, function):
            links[key] = (cid, example)
            named.add(key)
    return links


def _names(key: str, function: str) -> bool:
    """The key names the function whole: the robot writes a title's spaces as `_`, so `..._in_foo_bar`
    names foo_bar (and bar), not foo_ba or foo."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(function)}(?![A-Za-z0-9_])", key) is not None


def link_rows(result: Result, rows: Iterable[Row]) -> None:
    """Name the cluster rows among `rows` and give the stat-key rows their cluster: two queries for
    the rows a page shows rather than for thousands it does not."""
    rows = list(rows)
    unlinked = [r for r in rows if r.kind == "stat" and r.cluster_id is None]
    links = _stat_links({r.key for r in unlinked}, result.runs_q)
    for row in unlinked:
        if row.key in links:
            row.cluster_id, row.example_crash_id = links[row.key]
    wanted = {r.cluster_id for r in rows if r.cluster_id and not r.cluster_title}
    titles = dict(Cluster.objects.filter(pk__in=wanted).values_list("pk", "title")) if wanted else {}
    for row in rows:
        if row.cluster_id in titles:
            row.cluster_title = titles[row.cluster_id]
            if row.kind == "cluster":
                row.key = row.cluster_title
