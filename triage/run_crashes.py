"""The crashes of a set of runs (a commit's), looked up by the runs' ids first.

Joined to the logs and filtered by commit, a page sorted by anything but the runs' own order made the
planner walk a sort index of every crash (by kind, by cluster) looking for this commit's few: it
cannot know they are all in a few runs. Listed as ids, they are fetched and sorted, a few thousand.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet

from triage.models import Crash, Log

RUNS_LISTED = 5_000  # runs looked up by id; a selection of more runs is joined still


def crashes_of_runs(crashes: QuerySet, runs: Q) -> QuerySet:
    """`crashes` of the logs matching `runs` (a Q on Log)."""
    ids = list(Log.objects.filter(runs).order_by().values_list("id", flat=True)[:RUNS_LISTED + 1])
    if len(ids) > RUNS_LISTED:
        return crashes.filter(log__in=Log.objects.filter(runs))
    if connection.vendor != "postgresql" or not ids:
        return crashes.filter(log_id__in=ids)
    # ANY(ARRAY(subquery)) is computed once, then its crashes fetched by id: with `log_id = ANY(...)`
    # alone the planner still guessed the crashes spread evenly and walked a sort index
    table = Crash._meta.db_table
    return crashes.extra(where=[  # noqa: S610 (our table, the ids a parameter)
        f"{table}.id = ANY(ARRAY(SELECT id FROM {table} WHERE log_id = ANY(%s)))"], params=[ids])
