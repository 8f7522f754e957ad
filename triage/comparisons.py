"""Comparing two sets of runs from the database: fail:runs per stat key and per cluster.

A run is an analysed log (status done), crash or no crash. A side is selected by any of the log's
metadata (tree, branch, commit, config, arch, test, machine). Counting is a constant number of
GROUP BY queries whatever the number of runs or keys (three per side, two for names and links); the
statistics (Fisher's exact test, buckets, runs to settle, the robot's table) are `workers.compare`'s.

%reproduction is the difference of the per-side rates, `100*(f1/runs1 - f0/runs0)`; the 0-day robot
divides both sides by the base's runs, which `robot=True` reproduces to check a robot email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q

from triage.models import Cluster, Crash, Log, StatKey
from workers.compare import ALPHA, BUCKET_ORDER, Comparison, KeyChange, compare_counts, fail_runs_table

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

    @property
    def p_text(self) -> str:
        """The p-value for people: 3 decimals, or 2 significant digits when tiny (1.2e-09)."""
        p = self.change.p_value
        return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"

    def to_dict(self) -> dict[str, Any]:
        c = self.change
        return {"kind": self.kind, "key": self.key, "cluster": self.cluster_id, "cluster_title": self.cluster_title,
                "example_crash": self.example_crash_id, "fail0": c.fail0, "runs0": c.runs0, "fail1": c.fail1,
                "runs1": c.runs1, "change": round(c.change, 2), "p_value": c.p_value, "bucket": c.bucket,
                "significant": c.significant, "runs_to_settle": c.runs_to_settle}


@dataclass
class Result:
    base: dict[str, str]
    target: dict[str, str]
    runs0: int
    runs1: int
    robot: bool
    rows: list[Row] = field(default_factory=list)
    table: str = ""

    @property
    def base_label(self) -> str:
        return side_label(self.base)

    @property
    def target_label(self) -> str:
        return side_label(self.target)

    def by_bucket(self) -> list[tuple[str, list[Row]]]:
        """Buckets in page order (regressions first), empty ones left out."""
        groups: dict[str, list[Row]] = {b: [] for b in BUCKET_ORDER}
        for row in self.rows:
            groups[row.change.bucket].append(row)
        for rows in groups.values():
            rows.sort(key=lambda r: (r.change.p_value, -abs(r.change.change), r.kind, r.key))
        return [(b, rows) for b, rows in groups.items() if rows]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "target": self.target, "runs0": self.runs0, "runs1": self.runs1,
                "robot_arithmetic": self.robot, "rows": [r.to_dict() for r in self.rows], "table": self.table}


def _side_counts(filters: Mapping[str, str]) -> tuple[int, dict[str, int], dict[int, int], dict[int, int]]:
    """(runs, runs failing per stat key, runs failing per cluster, an example crash per cluster)."""
    runs = Log.objects.filter(status=Log.Status.DONE, **filters).count()
    on_log = {f"log__{k}": v for k, v in filters.items()}
    stat = dict(StatKey.objects.filter(log__status=Log.Status.DONE, **on_log)
                .values("key").annotate(n=Count("id"))  # (log, key) is unique
               .order_by().values_list("key", "n"))
    clusters: dict[int, int] = {}
    examples: dict[int, int] = {}
    for cid, n, example in (Crash.objects.filter(log__status=Log.Status.DONE, cluster__isnull=False, **on_log)
                            .values("cluster_id").annotate(n=Count("log_id", distinct=True), ex=Max("id"))
                            .order_by().values_list("cluster_id", "n", "ex")):
        clusters[cid], examples[cid] = n, example
    return runs, stat, clusters, examples


def _stat_links(keys: set[str], filters: list[Mapping[str, str]]) -> dict[str, tuple[int, int]]:
    """Stat key -> (cluster, example crash): the cluster found most often in the runs showing the key.

    A stat key and a crash title are two names of one report, so they meet in the same runs; one
    GROUP BY over (key, cluster) pairs of the compared runs.
    """
    if not keys:
        return {}
    sides = Q()
    for f in filters:
        sides |= Q(**{f"log__{k}": v for k, v in f.items()})
    best: dict[str, tuple[int, int, int]] = {}
    pairs = (StatKey.objects.filter(sides, key__in=keys, log__status=Log.Status.DONE,
                                    log__crashes__cluster__isnull=False)
             .values("key", "log__crashes__cluster").annotate(n=Count("id"), ex=Max("log__crashes__id"))
             .order_by().values_list("key", "log__crashes__cluster", "n", "ex"))
    for key, cid, n, example in pairs:
        if key not in best or (n, -cid) > (best[key][1], -best[key][0]):
            best[key] = (cid, n, example)
    return {k: (cid, ex) for k, (cid, _, ex) in best.items()}


def compare_runs(base: Mapping[str, str], target: Mapping[str, str], robot: bool = False,
                 alpha: float = ALPHA) -> Result:
    """Compare the runs selected by `base` and `target` (log metadata filters) key by key."""
    runs0, stat0, cl0, ex0 = _side_counts(base)
    runs1, stat1, cl1, ex1 = _side_counts(target)
    result = Result(base=dict(base), target=dict(target), runs0=runs0, runs1=runs1, robot=robot)
    result.table = fail_runs_table([(result.base_label, stat0, runs0), (result.target_label, stat1, runs1)],
                                   robot_arithmetic=robot)
    counts0 = dict(stat0) | {f"{CLUSTER_PREFIX}{k}": v for k, v in cl0.items()}
    counts1 = dict(stat1) | {f"{CLUSTER_PREFIX}{k}": v for k, v in cl1.items()}
    comparison: Comparison = compare_counts(counts0, runs0, counts1, runs1, base=result.base_label,
                                            target=result.target_label, alpha=alpha, robot_arithmetic=robot)
    cluster_ids = set(cl0) | set(cl1)
    titles = dict(Cluster.objects.filter(pk__in=cluster_ids).values_list("pk", "title")) if cluster_ids else {}
    links = _stat_links(set(stat0) | set(stat1), [base, target])
    link_titles = {cid for cid, _ in links.values()} - set(titles)
    if link_titles:  # a stat key's cluster that failed on neither side as a cluster row: rare
        titles.update(Cluster.objects.filter(pk__in=link_titles).values_list("pk", "title"))
    for change in comparison.rows:
        if change.key.startswith(CLUSTER_PREFIX):
            cid = int(change.key.removeprefix(CLUSTER_PREFIX))
            result.rows.append(Row("cluster", titles.get(cid, f"cluster {cid}"), change, cid,
                                   titles.get(cid, ""), ex1.get(cid) or ex0.get(cid)))
        else:
            cid, example = links.get(change.key, (None, None))
            result.rows.append(Row("stat", change.key, change, cid, titles.get(cid, "") if cid else "", example))
    return result
