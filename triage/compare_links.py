"""Naming the comparison rows a page shows: cluster titles, and for a stat key the cluster seen in the
same runs (two queries for the rows shown, not for the thousands a busy comparison has)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q

from triage.models import Cluster, Crash, Log, StatKey

if TYPE_CHECKING:
    from triage.comparisons import Result, Row


def _stat_links(keys: set[str], runs: Q) -> dict[str, tuple[int, int]]:
    """Stat key -> (cluster, example crash): the cluster found most often in the runs showing the key.

    A stat key and a crash title are two names of one report, so they meet in the same runs: the
    (key, cluster) pairs of the compared runs are counted and the database keeps the best of each key
    (a window function: busy runs make tens of thousands of pairs, which Python need not see). Only
    the keys asked for: a page links the rows it shows.
    """
    if not keys:
        return {}
    # the runs joined first, by the exact commits (see _exact_q): the planner then walks the runs' own
    # keys and crashes by their log indexes instead of every run's rows with one of the keys
    run_sql, params = Log.objects.filter(runs).order_by().values("id").query.sql_with_params()
    marks = ", ".join(["%s"] * len(keys))
    sql = f"""
        SELECT key, cluster_id, ex FROM (
            SELECT k.key, c.cluster_id, MAX(c.id) AS ex,
                   ROW_NUMBER() OVER (PARTITION BY k.key ORDER BY COUNT(*) DESC, c.cluster_id) AS rank
            FROM ({run_sql}) r
                JOIN {StatKey._meta.db_table} k ON k.log_id = r.id
                JOIN {Crash._meta.db_table} c ON c.log_id = r.id
            WHERE k.key IN ({marks}) AND c.cluster_id IS NOT NULL
            GROUP BY k.key, c.cluster_id) pairs
        WHERE rank = 1"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *sorted(keys)])
        return {key: (cid, example) for key, cid, example in cursor.fetchall()}


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
