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
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db.models import Count, Max, Q

from triage.compare_links import link_rows
from triage.models import Crash, Log, StatKey
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

    comparable: bool = True  # False: it failed only in jobs (test, config, arch) the other side did not run
    missing_side: str = ""  # "base" | "target" | "either" when not comparable: the side that ran none of them

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
            if self.missing_side == "either":
                return "each side failed only in jobs the other did not run"
            return f"the {self.missing_side} ran none of the jobs (test, config, arch) this failed in"
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
        """The page's numbers: over the jobs both sides ran; a row that is not comparable has each side's
        failures over its runs of the jobs the key failed in, and no change or p-value."""
        c, ok = self.change, self.comparable
        return {"kind": self.kind, "key": self.key, "cluster": self.cluster_id, "cluster_title": self.cluster_title,
                "example_crash": self.example_crash_id, "fail0": c.fail0, "runs0": c.runs0, "fail1": c.fail1,
                "runs1": c.runs1, "change": round(c.change, 2) if ok else None, "p_value": c.p_value if ok else None,
                "bucket": c.bucket, "significant": c.significant, "runs_to_settle": c.runs_to_settle,
                "verdict": self.verdict, "comparable": ok, "missing_side": self.missing_side}


Job = tuple[str, str, str]  # (test, config, arch): what a run ran
JOB_FIELDS = ("test", "config", "arch")
ANY = "*"  # a job field both sides select with different values (base_config=a&target_config=b): not compared


def ambiguous(commits: list[str]) -> list[str]:
    """Distinct commits a prefix matched, abbreviations of one another counted once."""
    full = sorted(set(commits), key=lambda c: (-len(c), c))  # the longest first, then in order (stable text)
    distinct: list[str] = []
    for c in full:
        if not any(d.startswith(c) for d in distinct):
            distinct.append(c)
    return distinct if len(distinct) > 1 else []


def no_runs_message(side: str, filters: Mapping[str, str]) -> str:
    if "commit" in filters:
        return f"no analysed runs match {side} commit {filters['commit']} (commits are matched by 7+ hex digits)"
    return f"no analysed runs match {side} {side_label(filters)}"


@dataclass
class Result:
    base: dict[str, str]
    target: dict[str, str]
    runs0: int  # every run of a side (the robot's table)
    runs1: int
    robot: bool
    rows: list[Row] = field(default_factory=list)
    table: str = ""
    mix0: dict[Job, int] = field(default_factory=dict)  # runs per (test, config, arch)
    mix1: dict[Job, int] = field(default_factory=dict)
    commits0: list[str] = field(default_factory=list)  # the commits the side's selector matched
    commits1: list[str] = field(default_factory=list)
    runs_q: Q = field(default_factory=Q, repr=False)  # the compared logs (both sides), for link_rows

    @property
    def common_jobs(self) -> list[Job]:
        """The jobs both sides ran: the rows compare only their runs."""
        return sorted(self.mix0.keys() & self.mix1.keys())

    @property
    def compared0(self) -> int:
        """The base's runs the rows compare: its runs of the jobs both sides ran."""
        return sum(self.mix0[job] for job in self.common_jobs)

    @property
    def compared1(self) -> int:
        return sum(self.mix1[job] for job in self.common_jobs)

    @property
    def mix_differs(self) -> list[tuple[str, Job, int]]:
        """Jobs (test, config, arch) run on one side only: ("base"|"target", job, runs)."""
        only0 = [("base", job, n) for job, n in sorted(self.mix0.items()) if job not in self.mix1]
        only1 = [("target", job, n) for job, n in sorted(self.mix1.items()) if job not in self.mix0]
        return only0 + only1

    @property
    def nothing_comparable(self) -> bool:
        """Both sides have runs, of no common job: no failure of one is a pass or a fail of the other."""
        return bool(self.runs0 and self.runs1 and not self.common_jobs)

    @property
    def ambiguous0(self) -> list[str]:
        return ambiguous(self.commits0)

    @property
    def ambiguous1(self) -> list[str]:
        return ambiguous(self.commits1)

    @property
    def problems(self) -> list[str]:
        """Why there is nothing to show: a side without runs, a commit prefix matching several commits."""
        out = [no_runs_message(name, filters) for name, filters, runs in
               (("base", self.base, self.runs0), ("target", self.target, self.runs1)) if not runs]
        for name, commits in (("base", self.ambiguous0), ("target", self.ambiguous1)):
            if commits:
                out.append(f"the {name} commit matches {len(commits)} different commits: {', '.join(commits)}; "
                           "give more digits")
        return out

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
        def job(j: Job) -> dict[str, str]:
            return dict(zip(JOB_FIELDS, j, strict=True))

        return {"base": self.base, "target": self.target, "runs0": self.runs0, "runs1": self.runs1,
                "robot_arithmetic": self.robot, "problems": self.problems,
                "compared_runs0": self.compared0, "compared_runs1": self.compared1,
                "common_jobs": [job(j) | {"runs0": self.mix0[j], "runs1": self.mix1[j]} for j in self.common_jobs],
                "nothing_comparable": self.nothing_comparable,
                "rows": [r.to_dict() for r in self.rows], "table": self.table,
                "jobs_only_on_one_side": [{"side": side, **job(j), "runs": n} for side, j, n in self.mix_differs]}


@dataclass
class Bucket:
    """A verdict's rows as a page shows them: the first ones, and how many there are in all."""

    name: str
    rows: list[Row]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class Side:
    runs: int
    mix: dict[Job, int]  # runs per job
    stat: dict[str, int]  # runs failing per stat key
    clusters: dict[int, int]  # runs failing per cluster
    examples: dict[int, int]  # an example crash per cluster
    by_job: dict[str, dict[Job, int]]  # engine key (stat key, "cluster:<pk>") -> runs failing per job
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


def varied_fields(base: Mapping[str, str], target: Mapping[str, str]) -> set[str]:
    """Job fields the sides select with different values: what is compared, not part of the job."""
    return {f for f in JOB_FIELDS if base.get(f) and target.get(f) and base[f] != target[f]}


def _side_counts(filters: Mapping[str, str], varied: set[str] = frozenset()) -> Side:
    """Runs per job, failing runs per stat key and cluster and job, an example crash per cluster.

    A job is (test, config, arch) with the `varied` fields set to ANY: comparing base_config=a with
    target_config=b compares the configs, in the same tests and arches.
    """
    @cache  # thousands of grouped rows, a few dozen jobs
    def job(t: str, c: str, a: str) -> Job:
        return tuple(ANY if name in varied else v for name, v in zip(JOB_FIELDS, (t, c, a), strict=True))

    done = Log.objects.filter(side_q(filters), status=Log.Status.DONE)
    mix: dict[Job, int] = defaultdict(int)
    commits: set[str] = set()
    for t, c, a, commit, n in (done.values("test", "config", "arch", "commit").annotate(n=Count("id"))
                               .order_by().values_list("test", "config", "arch", "commit", "n")):
        mix[job(t, c, a)] += n
        commits.add(commit)
    by_job: dict[str, dict[Job, int]] = defaultdict(lambda: defaultdict(int))
    side = Side(sum(mix.values()), dict(mix), {}, {}, {}, by_job, sorted(commits),
                _exact_q(filters, sorted(commits)), _exact_q(filters, sorted(commits), "log__"))
    if not side.runs:
        return side
    stat: dict[str, int] = defaultdict(int)
    for key, t, c, a, n in (StatKey.objects.filter(side.on_log)
                            .values("key", "log__test", "log__config", "log__arch")
                            .annotate(n=Count("id"))  # (log, key) is unique
                            .order_by().values_list("key", "log__test", "log__config", "log__arch", "n")):
        stat[key] += n
        by_job[key][job(t, c, a)] += n
    clusters: dict[int, int] = defaultdict(int)
    for cid, t, c, a, n, example in (
            Crash.objects.filter(side.on_log, cluster__isnull=False)
            .values("cluster_id", "log__test", "log__config", "log__arch")
            .annotate(n=Count("log_id", distinct=True), ex=Max("id"))
            .order_by().values_list("cluster_id", "log__test", "log__config", "log__arch", "n", "ex")):
        clusters[cid] += n  # a log has one job: per-job distinct counts add up
        side.examples[cid] = max(side.examples.get(cid, 0), example)
        by_job[f"{CLUSTER_PREFIX}{cid}"][job(t, c, a)] += n
    side.stat, side.clusters = dict(stat), dict(clusters)
    return side


def _not_comparable(key: str, base: Side, target: Side) -> Row:
    """A key that failed only in jobs one side did not run: each side's failures over its runs of the
    jobs it failed in (what the page can say), no change, no p-value."""
    counts = []
    for side in (base, target):
        jobs = side.by_job.get(key, {})
        counts += [sum(jobs.values()), sum(side.mix[j] for j in jobs)]
    f0, n0, f1, n1 = counts
    change = KeyChange(key, f0, n0, f1, n1, 0.0, 1.0, "not comparable", False, None)
    missing = "either" if f0 and f1 else "base" if f1 else "target"
    return Row("stat", key, change, comparable=False, missing_side=missing)


def compare_runs(base: Mapping[str, str], target: Mapping[str, str], robot: bool = False,
                 alpha: float = ALPHA, link: bool = True) -> Result:
    """Compare the runs selected by `base` and `target` (log metadata filters) key by key.

    The rows count only the runs of the jobs (test, config, arch) both sides ran: a target's run of a
    job the base never ran is not a pass or a fail of the base's. A key that failed only in jobs one
    side ran is "not comparable". The robot's table is lkp's: whole sides. No rows when a side has no
    runs or its commit prefix matches several commits (`Result.problems`).

    Rows get their cluster (title, for stat keys the cluster itself) when `link`; a page that shows
    a few rows passes False and links those with `link_rows`.
    """
    varied = varied_fields(base, target)
    side0, side1 = _side_counts(base, varied), _side_counts(target, varied)
    result = Result(base=dict(base), target=dict(target), runs0=side0.runs, runs1=side1.runs, robot=robot,
                    mix0=side0.mix, mix1=side1.mix, commits0=side0.commits, commits1=side1.commits,
                    runs_q=side0.runs_q | side1.runs_q)
    if result.problems:
        return result
    result.table = fail_runs_table([(result.base_label, side0.stat, side0.runs),
                                    (result.target_label, side1.stat, side1.runs)], robot_arithmetic=robot)
    common = frozenset(result.common_jobs)  # a key fails in a few jobs: walk those, not every common one
    counts0 = {k: n for k, jobs in side0.by_job.items() if (n := sum(v for j, v in jobs.items() if j in common))}
    counts1 = {k: n for k, jobs in side1.by_job.items() if (n := sum(v for j, v in jobs.items() if j in common))}
    comparison: Comparison = compare_counts(counts0, result.compared0, counts1, result.compared1,
                                            base=result.base_label, target=result.target_label, alpha=alpha,
                                            robot_arithmetic=robot)
    rows = [Row("stat", change.key, change) for change in comparison.rows]
    rows += [_not_comparable(key, side0, side1)
             for key in sorted((side0.by_job.keys() | side1.by_job.keys()) - counts0.keys() - counts1.keys())]
    for row in rows:
        if row.key.startswith(CLUSTER_PREFIX):
            cid = int(row.key.removeprefix(CLUSTER_PREFIX))
            row.kind, row.key, row.cluster_id = "cluster", f"cluster {cid}", cid
            row.example_crash_id = side1.examples.get(cid) or side0.examples.get(cid)
    result.rows = rows
    if link:
        link_rows(result, result.rows)
    return result
