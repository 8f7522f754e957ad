"""Regressions of a job's series: what fails on a commit and never failed on the commit before it.

A job is what CI runs again and again (tree, branch, config, arch, test); its runs on one commit are
one population. Each commit is compared with its base: the parent its upload named when the job has
runs of it, else the previous commit of the series (series order: first arrival of a run, a named
parent before its children). A key (stat key or "cluster:<pk>") failing on a commit and on none of its
base's runs starts a regression, tested with Fisher's exact test on (base, first bad commit):

- suspected: not significant yet (one run each side, as most CI boots are);
- confirmed: significant (0 of 300 vs 17 of 300 is);
- dismissed: the last good commit turned out to fail too (the database layer marks stored regressions
  that the series no longer shows).

Later commits still failing update the regression (latest bad commit, bad commits) instead of opening
another one; a key keeps one open regression per job. A key of a cluster marked fixed that fails on a
commit first seen after the fix is a regression of its own kind, "seen again after fix".

Keys regressing at the same commits are grouped: the stat keys go with the cluster they were seen with
most in the first bad commit's runs (a crash has a cluster and several stat keys: one bug, one
regression); stat keys without a regressing cluster make one regression of their own.

No Django here: the database layer (triage/regressions.py) gives runs and gets findings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from workers.compare import ALPHA, Run, fail_counts, p_value

CLUSTER_PREFIX = "cluster:"
SUSPECTED, CONFIRMED, DISMISSED = "suspected", "confirmed", "dismissed"
NEW, AFTER_FIX = "new", "after_fix"


@dataclass(frozen=True)
class CommitInfo:
    """A commit of the series: when a run of it first arrived, and the parent an upload named."""

    commit: str
    first_seen: datetime
    parent: str = ""


@dataclass(frozen=True)
class Fix:
    """A cluster marked fixed: its fixing commit, and when it was marked."""

    commit: str
    since: datetime


@dataclass
class Finding:
    key: str  # the key the regression is named after (a cluster when one regressed)
    kind: str
    first_bad: str
    last_good: str
    fail_bad: int
    runs_bad: int
    fail_good: int
    runs_good: int
    p_value: float
    state: str
    latest_bad: str = ""
    bad_commits: int = 1
    keys: list[str] = field(default_factory=list)  # all keys of the group, the named one first


def series_order(commits: Iterable[CommitInfo]) -> list[CommitInfo]:
    """Commits by first arrival, a commit never before the parent it names (when that is known)."""
    by_name = {c.commit: c for c in commits}
    position: dict[str, tuple] = {}

    def pos(c: CommitInfo, depth: int = 0) -> tuple:
        if c.commit in position:
            return position[c.commit]
        own = (c.first_seen, c.commit)
        parent = by_name.get(c.parent) if c.parent != c.commit else None
        if parent is not None and depth < 1000:
            position[c.commit] = own  # breaks a parent cycle
            position[c.commit] = max(own, (*pos(parent, depth + 1), c.commit))
        else:
            position[c.commit] = own
        return position[c.commit]

    return sorted(by_name.values(), key=pos)


def _base(info: CommitInfo, previous: str | None, runs: Mapping[str, int]) -> str | None:
    if info.parent and info.parent != info.commit and runs.get(info.parent):
        return info.parent
    return previous


def _state(fail_good: int, runs_good: int, fail_bad: int, runs_bad: int, alpha: float) -> tuple[str, float]:
    p = p_value(fail_good, runs_good, fail_bad, runs_bad)
    if fail_good:
        return DISMISSED, p
    return (CONFIRMED if p < alpha and runs_good and fail_bad / runs_bad > 0 else SUSPECTED), p


def detect(commits: Sequence[CommitInfo], runs: Iterable[Run], fixes: Mapping[str, Fix] | None = None,
           alpha: float = ALPHA) -> list[Finding]:
    """The regressions of one job's series. `runs` carry their commit and keys (stat and cluster)."""
    fixes = fixes or {}
    by_commit: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_commit[run.commit].append(run)
    counts: dict[str, Counter[str]] = {}
    nruns: dict[str, int] = {}
    for commit, commit_runs in by_commit.items():
        counts[commit], nruns[commit] = fail_counts(commit_runs)
    ordered = [c for c in series_order(commits) if nruns.get(c.commit)]
    position = {c.commit: i for i, c in enumerate(ordered)}

    open_: dict[str, Finding] = {}
    after_fix: dict[str, Finding] = {}
    previous: str | None = None
    for info in ordered:
        commit = info.commit
        base = _base(info, previous, nruns)
        for key, fail in counts[commit].items():
            fix = fixes.get(key)
            if fix and info.first_seen >= fix.since:
                found = after_fix.get(key)
                if found is None:
                    fixed_known = fix.commit in position and position[fix.commit] < position[commit]
                    good = counts.get(fix.commit, Counter()).get(key, 0) if fixed_known else 0
                    after_fix[key] = Finding(key, AFTER_FIX, commit, fix.commit, fail, nruns[commit], good,
                                             nruns.get(fix.commit, 0) if fixed_known else 0, 1.0,
                                             CONFIRMED if fixed_known else SUSPECTED, commit)
                else:
                    found.latest_bad, found.bad_commits = commit, found.bad_commits + 1
                continue
            found = open_.get(key)
            if found is not None:
                found.latest_bad, found.bad_commits = commit, found.bad_commits + 1
            elif base is not None and not counts[base].get(key):
                open_[key] = Finding(key, NEW, commit, base, fail, nruns[commit], 0, nruns[base], 1.0, SUSPECTED,
                                     commit)
        previous = commit
    for found in open_.values():
        found.state, found.p_value = _state(found.fail_good, found.runs_good, found.fail_bad, found.runs_bad, alpha)
    return _grouped(list(open_.values()), by_commit) + list(after_fix.values())


def _grouped(findings: list[Finding], by_commit: Mapping[str, list[Run]]) -> list[Finding]:
    """One finding per bug: stat keys join the cluster they were seen with most (see the module doc)."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        groups[(f.first_bad, f.last_good)].append(f)
    out = []
    for (first_bad, _), group in groups.items():
        clusters = [f for f in group if f.key.startswith(CLUSTER_PREFIX)]
        stats = [f for f in group if not f.key.startswith(CLUSTER_PREFIX)]
        members: dict[str, list[Finding]] = {f.key: [] for f in clusters}
        loose = []
        for stat in stats:
            together: Counter[str] = Counter()
            for run in by_commit[first_bad]:
                if stat.key in run.keys:
                    together.update(k for k in run.keys if k in members)
            if together:
                best = max(together.items(), key=lambda kv: (kv[1], -len(kv[0]), kv[0]))[0]
                members[best].append(stat)
            else:
                loose.append(stat)
        for lead in clusters:
            out.append(_merge(lead, members[lead.key]))
        if loose:
            loose.sort(key=lambda f: (f.p_value, -f.fail_bad, f.key.encode()))
            out.append(_merge(loose[0], loose[1:]))
    return out


def _merge(lead: Finding, others: list[Finding]) -> Finding:
    """The group's finding: the lead's counts, its best state (a group is confirmed by any key)."""
    group = [lead, *others]
    best = min(group, key=lambda f: f.p_value)
    lead.keys = [lead.key, *sorted((f.key for f in others), key=str.encode)]
    if any(f.state == DISMISSED for f in group) and all(f.state == DISMISSED for f in group):
        lead.state = DISMISSED
    elif any(f.state == CONFIRMED for f in group):
        lead.state = CONFIRMED
    lead.p_value = min(lead.p_value, best.p_value)
    return lead
