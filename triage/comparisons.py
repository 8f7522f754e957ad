"""Comparing two sets of runs from the database: fail:runs per stat key and per cluster.

A run is an analysed log (status done), crash or no crash. A side is selected by any of the log's
metadata (tree, branch, commit, config, arch, test, machine). Counting is a constant number of
GROUP BY queries whatever the number of runs or keys (three per side, two for names and links); the
statistics (Fisher's exact test, buckets, runs to settle, the robot's table) are `workers.compare`'s.

%reproduction is the difference of the per-side rates, `100*(f1/runs1 - f0/runs0)`; the 0-day robot
divides both sides by the base's runs, which `robot=True` reproduces to check a robot email.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q

from triage.models import Cluster, Crash, Log, StatKey
from workers.compare import ALPHA, Comparison, KeyChange, compare_counts, fail_runs_table, format_p

VERDICT_ORDER = ("regression", "possible regression", "fixed", "possible fix", "still failing", "flaky",
                 "not comparable")
SELECTORS = ("tree", "branch", "commit", "config", "arch", "test", "machine")
CLUSTER_PREFIX = "cluster:"  # engine keys of cluster rows: "cluster:<pk>", never a stat key's "dmesg."


def side_filters(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`base_commit=A&config=x` -> {"commit": "A", "config": "x"} for prefix "base": a side's own
    selector wins over a selector without prefix, which applies to both sides."""
    out = {}
    for name in SELECTORS:
        value = (params.get(f"{prefix}_{name}") or params.get(name) or "").strip()
        if value:
            out[name] = value
    return out


def side_q(filters: Mapping[str, str], prefix: str = "") -> Q:
    """The runs of a side: exact metadata, and a commit full or abbreviated (see listing.commit_q)."""
    from triage.listing import commit_q

    q = Q()
    for name, value in filters.items():
        q &= commit_q(value, f"{prefix}commit") if name == "commit" else Q(**{f"{prefix}{name}": value})
    return q


def side_label(filters: Mapping[str, str]) -> str:
    """What the robot's table titles a column with: the commit, else the other selectors."""
    if "commit" in filters:
        return filters["commit"]
    return ",".join(f"{k}={v}" for k, v in filters.items()) or "all"


@dataclass
class Row:
    """A comparison row as pages and the API show it."""

    kind: str  # "stat" | "cluster"
    key: str  # the stat key, or the cluster's title
    change: KeyChange
    cluster_id: int | None = None
    cluster_title: str = ""
    example_crash_id: int | None = None

    comparable: bool = True  # False: one side ran none of the jobs (test, config, arch) this failed in
    missing_side: str = ""  # "base" | "target" when not comparable

    @property
    def verdict(self) -> str:
        """What a person may conclude: regression and fixed only when Fisher's test says so."""
        c = self.change
        if not self.comparable:
            return "not comparable"
        if c.significant or c.bucket == "still failing":
            return c.bucket  # regression | fixed | failing often on both sides
        if c.rate1 > c.rate0:
            return "possible regression"
        if c.rate1 < c.rate0:
            return "possible fix"
        return "flaky"  # the same low rate on both sides

    @property
    def verdict_detail(self) -> str:
        c = self.change
        if not self.comparable:
            return f"the {self.missing_side} ran none of the tests/configs this failed in"
        if c.significant or self.verdict not in ("possible regression", "possible fix"):
            return ""
        if c.runs_to_settle is None:
            return "more runs would not tell"
        return f"{c.runs_to_settle} more run{'s' if c.runs_to_settle != 1 else ''} on each side to tell"

    @property
    def p_text(self) -> str:
        """The p-value for people: 3 decimals, or 2 significant digits when tiny (1.2e-09)."""
        return format_p(self.change.p_value)

    def to_dict(self) -> dict[str, Any]:
        c = self.change
        return {"kind": self.kind, "key": self.key, "cluster": self.cluster_id, "cluster_title": self.cluster_title,
                "example_crash": self.example_crash_id, "fail0": c.fail0, "runs0": c.runs0, "fail1": c.fail1,
                "runs1": c.runs1, "change": round(c.change, 2), "p_value": c.p_value, "bucket": c.bucket,
                "significant": c.significant, "runs_to_settle": c.runs_to_settle, "verdict": self.verdict,
                "comparable": self.comparable}


@dataclass
class Result:
    base: dict[str, str]
    target: dict[str, str]
    runs0: int
    runs1: int
    robot: bool
    rows: list[Row] = field(default_factory=list)
    table: str = ""
    mix0: dict[tuple[str, str, str], int] = field(default_factory=dict)  # runs per (test, config, arch)
    mix1: dict[tuple[str, str, str], int] = field(default_factory=dict)
    commits0: list[str] = field(default_factory=list)  # the commits the side's selector matched
    commits1: list[str] = field(default_factory=list)
    runs_q: Q = field(default_factory=Q, repr=False)  # the compared logs (both sides), for link_rows

    @property
    def mix_differs(self) -> list[tuple[str, tuple[str, str, str], int]]:
        """Jobs (test, config, arch) run on one side only: ("base"|"target", job, runs)."""
        only0 = [("base", job, n) for job, n in sorted(self.mix0.items()) if job not in self.mix1]
        only1 = [("target", job, n) for job, n in sorted(self.mix1.items()) if job not in self.mix0]
        return only0 + only1

    @property
    def base_label(self) -> str:
        return side_label(self.base)

    @property
    def target_label(self) -> str:
        return side_label(self.target)

    def by_bucket(self) -> list[tuple[str, list[Row]]]:
        """Rows grouped by verdict in page order (regressions first), the biggest change first."""
        groups: dict[str, list[Row]] = {b: [] for b in VERDICT_ORDER}
        for row in self.rows:
            groups[row.verdict].append(row)
        for rows in groups.values():
            # ties by cluster number or key: known before the rows are named (link_rows)
            rows.sort(key=lambda r: (-abs(r.change.change), r.change.p_value, r.kind,
                                     r.cluster_id if r.kind == "cluster" else r.key))
        return [(b, rows) for b, rows in groups.items() if rows]

    def shown(self, limit: int, expand: str = "") -> list[Bucket]:
        """The page's buckets: the `limit` biggest changes of each, all the rows of bucket `expand`.

        Two busy commits differ in thousands of keys seen once or twice ("flaky", "possible ...");
        drawing them all made a page of megabytes that took seconds to render.
        """
        return [Bucket(name, rows if name == expand else rows[:limit], len(rows)) for name, rows in self.by_bucket()]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "target": self.target, "runs0": self.runs0, "runs1": self.runs1,
                "robot_arithmetic": self.robot, "rows": [r.to_dict() for r in self.rows], "table": self.table,
                "jobs_only_on_one_side": [{"side": side, "test": j[0], "config": j[1], "arch": j[2], "runs": n}
                                          for side, j, n in self.mix_differs]}


@dataclass
class Bucket:
    """A verdict's rows as a page shows them: the first ones, and how many there are in all."""

    name: str
    rows: list[Row]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


Job = tuple[str, str, str]  # (test, config, arch): what a run ran


@dataclass
class Side:
    runs: int
    mix: dict[Job, int]  # runs per job
    stat: dict[str, int]  # runs failing per stat key
    clusters: dict[int, int]  # runs failing per cluster
    examples: dict[int, int]  # an example crash per cluster
    failed_in: dict[str, set[Job]]  # engine key -> jobs where it failed
    commits: list[str]
    runs_q: Q  # the side's runs (logs), exact
    on_log: Q  # the same as a filter on a log's rows (stat keys, crashes)


def _exact_q(filters: Mapping[str, str], commits: list[str], prefix: str = "") -> Q:
    """A side's runs again, with the commit its selector matched spelled out in full.

    An abbreviated commit is matched by a prefix and a list of shorter abbreviations, which the
    planner cannot estimate (it guessed thousands of runs for 200 and chose to scan whole tables);
    the commits found by the side's first query are exact values it estimates from its statistics.
    """
    q = Q(**{f"{prefix}status": Log.Status.DONE})
    for name, value in filters.items():
        q &= Q(**{f"{prefix}commit__in": commits}) if name == "commit" else Q(**{f"{prefix}{name}": value})
    return q


def _side_counts(filters: Mapping[str, str]) -> Side:
    """Runs per job, failing runs per stat key and cluster (by job), an example crash per cluster."""
    done = Log.objects.filter(side_q(filters), status=Log.Status.DONE)
    mix: dict[Job, int] = defaultdict(int)
    commits: set[str] = set()
    for t, c, a, commit, n in (done.values("test", "config", "arch", "commit").annotate(n=Count("id"))
                               .order_by().values_list("test", "config", "arch", "commit", "n")):
        mix[(t, c, a)] += n
        commits.add(commit)
    side = Side(sum(mix.values()), dict(mix), {}, {}, {}, defaultdict(set), sorted(commits),
                _exact_q(filters, sorted(commits)), _exact_q(filters, sorted(commits), "log__"))
    if not side.runs:
        return side
    stat: dict[str, int] = defaultdict(int)
    for key, t, c, a, n in (StatKey.objects.filter(side.on_log)
                            .values("key", "log__test", "log__config", "log__arch")
                            .annotate(n=Count("id"))  # (log, key) is unique
                            .order_by().values_list("key", "log__test", "log__config", "log__arch", "n")):
        stat[key] += n
        side.failed_in[key].add((t, c, a))
    clusters: dict[int, int] = defaultdict(int)
    for cid, t, c, a, n, example in (
            Crash.objects.filter(side.on_log, cluster__isnull=False)
            .values("cluster_id", "log__test", "log__config", "log__arch")
            .annotate(n=Count("log_id", distinct=True), ex=Max("id"))
            .order_by().values_list("cluster_id", "log__test", "log__config", "log__arch", "n", "ex")):
        clusters[cid] += n  # a log has one job: per-job distinct counts add up
        side.examples[cid] = max(side.examples.get(cid, 0), example)
        side.failed_in[f"{CLUSTER_PREFIX}{cid}"].add((t, c, a))
    side.stat, side.clusters = dict(stat), dict(clusters)
    return side


def _comparable(key: str, base: Side, target: Side) -> tuple[bool, str]:
    """A key failed in some jobs; a side that ran none of them says nothing about it."""
    jobs0, jobs1 = base.failed_in.get(key, ()), target.failed_in.get(key, ())
    for name, side in (("base", base), ("target", target)):
        if side.mix.keys().isdisjoint(jobs0) and side.mix.keys().isdisjoint(jobs1):
            return False, name
    return True, ""


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


def compare_runs(base: Mapping[str, str], target: Mapping[str, str], robot: bool = False,
                 alpha: float = ALPHA, link: bool = True) -> Result:
    """Compare the runs selected by `base` and `target` (log metadata filters) key by key.

    Rows get their cluster (title, for stat keys the cluster itself) when `link`; a page that shows
    a few rows passes False and links those with `link_rows`.
    """
    side0, side1 = _side_counts(base), _side_counts(target)
    runs0, stat0, cl0, ex0 = side0.runs, side0.stat, side0.clusters, side0.examples
    runs1, stat1, cl1, ex1 = side1.runs, side1.stat, side1.clusters, side1.examples
    result = Result(base=dict(base), target=dict(target), runs0=runs0, runs1=runs1, robot=robot,
                    mix0=side0.mix, mix1=side1.mix, commits0=side0.commits, commits1=side1.commits,
                    runs_q=side0.runs_q | side1.runs_q)
    result.table = fail_runs_table([(result.base_label, stat0, runs0), (result.target_label, stat1, runs1)],
                                   robot_arithmetic=robot)
    counts0 = dict(stat0) | {f"{CLUSTER_PREFIX}{k}": v for k, v in cl0.items()}
    counts1 = dict(stat1) | {f"{CLUSTER_PREFIX}{k}": v for k, v in cl1.items()}
    comparison: Comparison = compare_counts(counts0, runs0, counts1, runs1, base=result.base_label,
                                            target=result.target_label, alpha=alpha, robot_arithmetic=robot)
    for change in comparison.rows:
        comparable, missing = _comparable(change.key, side0, side1)
        if change.key.startswith(CLUSTER_PREFIX):
            cid = int(change.key.removeprefix(CLUSTER_PREFIX))
            row = Row("cluster", f"cluster {cid}", change, cid, "", ex1.get(cid) or ex0.get(cid))
        else:
            row = Row("stat", change.key, change)
        row.comparable, row.missing_side = comparable, missing
        result.rows.append(row)
    if link:
        link_rows(result, result.rows)
    return result
