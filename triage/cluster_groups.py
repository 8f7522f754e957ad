"""A cluster's crashes counted for its page: per tree/branch and commit (fail:runs), per day (the chart)
and per job.

The biggest clusters hold tens of thousands of crashes in tens of thousands of runs. Their crashes are
first counted per run from the (cluster, log) index alone, then the runs are joined once and grouped
every way the page needs: on PostgreSQL one GROUPING SETS query, a few hundred rows whatever the
cluster's size; elsewhere (SQLite) the per-run rows are added up here, which suits the sizes SQLite is
used for. triage.cluster_counts decides when to count: pages read a big cluster's counts as a worker
kept them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from triage.models import Build, Crash, Log

SPLITS = ("commit", "config")  # what the per-day chart may be stacked by
JOB_FIELDS = ("config", "arch", "machine", "test")
Job = tuple[str, str, str]  # (test, config, arch): what the comparison page calls a job


@dataclass
class CommitRuns:
    """The cluster on one commit of one tree/branch: crashes, and failing runs among the analysed ones."""

    commit: str
    tree: str = ""
    branch: str = ""
    crashes: int = 0
    failing_runs: int = 0  # analysed (done) runs with at least one of the cluster's crashes
    first: datetime | None = None  # of those runs
    last: datetime | None = None


@dataclass
class Groups:
    commits: dict[tuple[str, str, str], CommitRuns] = field(default_factory=dict)  # (tree, branch, commit) ->
    jobs: set[Job] = field(default_factory=set)  # where the cluster was seen: its runs' (test, config, arch)
    per_day: list[tuple[date, str | None, int]] = field(default_factory=list)  # (day, split value, crashes)
    seen: dict[str, Counter] = field(default_factory=dict)  # "configs", ..., "builds" -> crashes per value


def crash_groups(cluster_id: int, split: str | None = None) -> Groups:
    """Count the cluster's crashes per commit, per day (and `split`: "commit" or "config") and per job."""
    split = split if split in SPLITS else None
    if connection.vendor == "postgresql":
        return _grouped_in_postgres(cluster_id, split)
    return _grouped_here(cluster_id, split)


def _add_commit(groups: Groups, tree: str, branch: str, commit: str, status: str, crashes: int, runs: int,
                first, last) -> None:
    row = groups.commits.setdefault((tree, branch, commit), CommitRuns(commit, tree, branch))
    row.crashes += crashes
    if status == Log.Status.DONE:
        row.failing_runs += runs
        row.first = first if row.first is None else min(row.first, first)
        row.last = last if row.last is None else max(row.last, last)


def _empty() -> Groups:
    return Groups(seen={name: Counter() for name in ("commits", "configs", "arches", "machines", "tests", "builds")})


_SEEN = {"config": "configs", "arch": "arches", "machine": "machines", "test": "tests"}


def _grouped_in_postgres(cluster_id: int, split: str | None) -> Groups:
    log, crash, build = Log._meta.db_table, Crash._meta.db_table, Build._meta.db_table
    split_col = f'"{split}"' if split else "NULL::text"
    # GROUPING(...) says which set a row belongs to: a bit per column, 1 where it is not grouped
    sql = f"""
        WITH runs AS (
            SELECT l."commit", l.tree, l.branch, l.status, l.config, l.arch, l.machine, l.test, l.build_id,
                   l.created, (l.created AT TIME ZONE %s)::date AS day, per_run.n
            FROM (SELECT log_id, COUNT(*) AS n FROM {crash} WHERE cluster_id = %s GROUP BY log_id) per_run
                JOIN {log} l ON l.id = per_run.log_id)
        SELECT GROUPING("commit", tree, branch, status, day, config, arch, machine, test, build_id) AS unset,
               "commit", tree, branch, status, day, {split_col} AS split, config, arch, machine, test, build_id,
               -- a build's release for the few build rows only: joining builds to every run widened
               -- the rows the grouping sorts (and spilled it to disk)
               CASE WHEN GROUPING(build_id) = 0 AND build_id IS NOT NULL
                    THEN (SELECT release FROM {build} WHERE id = build_id) END,
               SUM(n), COUNT(*), MIN(created), MAX(created)
        FROM runs
        GROUP BY GROUPING SETS (("commit", tree, branch, status), (day{", " + split_col if split else ""}),
                                (machine), (build_id), (test, config, arch))"""
    groups = _empty()
    columns = ("commit", "tree", "branch", "status", "day", "config", "arch", "machine", "test", "build_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), cluster_id])
        for unset, commit, tree, branch, status, day, value, config, arch, machine, test, build_id, release, n, runs, \
                first, last in cursor.fetchall():
            grouped = {c for i, c in enumerate(reversed(columns)) if not unset & (1 << i)}
            n = int(n)
            if "day" in grouped:  # with the split's column when there is one
                groups.per_day.append((day, value, n))
            elif grouped == {"commit", "tree", "branch", "status"}:
                _add_commit(groups, tree, branch, commit, status, n, runs, first, last)
            elif grouped == {"test", "config", "arch"}:  # a run has one job: its parts add up from here
                groups.jobs.add((test, config, arch))
                for name, part in (("test", test), ("config", config), ("arch", arch)):
                    if part:
                        groups.seen[_SEEN[name]][part] += n
            elif grouped == {"build_id"}:
                if build_id:
                    groups.seen["builds"][(build_id, release or f"build {build_id}")] += n
            else:
                (name,) = grouped
                value = {"config": config, "arch": arch, "machine": machine, "test": test}[name]
                if value:
                    groups.seen[_SEEN[name]][value] += n
    _commits_seen(groups)
    return groups


def _grouped_here(cluster_id: int, split: str | None) -> Groups:
    groups = _empty()
    add_runs(groups, Crash.objects.filter(cluster_id=cluster_id), split)
    return groups


def add_runs(groups: Groups, crashes, split: str | None, counted: frozenset[int] = frozenset()) -> None:
    """Add these crashes (a queryset of one cluster's) to the groups, counted per run. A run in `counted`
    (log ids) is already among the failing runs: its crashes are added, not the run again."""
    runs = (crashes.values("log_id")
            .annotate(n=Count("id"), commit=F("log__commit"), tree=F("log__tree"), branch=F("log__branch"),
                      status=F("log__status"), created=F("log__created"),
                      config=F("log__config"), arch=F("log__arch"), machine=F("log__machine"), test=F("log__test"),
                      build_id=F("log__build_id"), release=F("log__build__release")).order_by())
    per_day: Counter = Counter({(day, value): n for day, value, n in groups.per_day})
    tz = timezone.get_current_timezone()
    for run in runs:
        n, new_run = run["n"], run["log_id"] not in counted
        _add_commit(groups, run["tree"], run["branch"], run["commit"], run["status"] if new_run else "", n, 1,
                    run["created"], run["created"])
        groups.jobs.add((run["test"], run["config"], run["arch"]))
        per_day[(timezone.localtime(run["created"], tz).date(), run[split] if split else None)] += n
        for name, seen in _SEEN.items():
            if run[name]:
                groups.seen[seen][run[name]] += n
        if run["build_id"]:
            groups.seen["builds"][(run["build_id"], run["release"] or f"build {run['build_id']}")] += n
    groups.per_day = [(day, value, n) for (day, value), n in per_day.items()]
    groups.seen["commits"] = Counter()
    _commits_seen(groups)


def _commits_seen(groups: Groups) -> None:
    """Crashes per commit from the per tree/branch/commit rows; the per-day rows in order (day, value)."""
    groups.per_day.sort(key=lambda row: (row[0], row[1] or ""))
    for row in groups.commits.values():
        if row.commit:
            groups.seen["commits"][row.commit] += row.crashes
