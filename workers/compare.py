"""Runs and comparisons: fail:runs, %reproduction, Fisher's exact test and the 0-day robot's table.

A run is one console log of one test on one build; a run without a crash still counts in the
denominator. Its failure keys are its stat keys (`dmesg.*`, once per run) and its cluster keys.

%reproduction is by default the difference of the per-side failure rates, `100*(f1/runs1 -
f0/runs0)`. The robot (`lib/compare.rb` in lkp-tests) divides both sides by the base's runs,
`100*(f1/runs0 - f0/runs0)`, which is wrong when the sides have different run counts;
`robot_arithmetic=True` gives its numbers so a table can be checked against a robot email.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from scipy.special import gammaln

ALPHA = 0.05  # significance level of "regression" and "fixed"
FLAKY_RATE = 0.5  # a key failing in at most this share of runs on a side is flaky there
MAX_SETTLE_RUNS = 100_000  # beyond this many more runs a difference is called unsettleable


@dataclass(frozen=True)
class Run:
    """One log: what it was a run of, and its failure keys (each counted once)."""

    name: str
    keys: frozenset[str] = frozenset()
    commit: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)  # config, arch, machine, test, ...

    @classmethod
    def of(cls, name: str, keys: Iterable[str], commit: str = "", **meta: str) -> Run:
        return cls(name=name, keys=frozenset(keys), commit=commit, meta=meta)


@dataclass(frozen=True)
class KeyChange:
    """One row of a comparison: a failure key on the base side (0) and the target side (1)."""

    key: str
    fail0: int
    runs0: int
    fail1: int
    runs1: int
    change: float  # %reproduction
    p_value: float  # Fisher's exact test, two-sided
    bucket: str  # regression | fixed | new pass | still failing | flaky
    significant: bool
    runs_to_settle: int | None  # more runs on each side that would make a doubtful row significant

    @property
    def rate0(self) -> float:
        return self.fail0 / self.runs0 if self.runs0 else 0.0

    @property
    def rate1(self) -> float:
        return self.fail1 / self.runs1 if self.runs1 else 0.0


BUCKET_ORDER = ("regression", "fixed", "flaky", "new pass", "still failing")


def fail_counts(runs: Iterable[Run]) -> tuple[Counter[str], int]:
    """(runs failing per key, number of runs)."""
    counts: Counter[str] = Counter()
    n = 0
    for run in runs:
        n += 1
        counts.update(run.keys)
    return counts, n


def reproduction(fail0: int, runs0: int, fail1: int, runs1: int, robot_arithmetic: bool = False) -> float:
    """%reproduction: the change of the failure rate, in percent points."""
    if robot_arithmetic and runs0:
        return 100.0 * (fail1 / runs0 - fail0 / runs0)
    rate0 = fail0 / runs0 if runs0 else 0.0
    rate1 = fail1 / runs1 if runs1 else 0.0
    return 100.0 * (rate1 - rate0)


@lru_cache(maxsize=65536)
def p_value(fail0: int, runs0: int, fail1: int, runs1: int) -> float:
    """Two-sided Fisher's exact test of fail:runs on two sides (1.0 when a side has no runs)."""
    if runs0 <= 0 or runs1 <= 0:
        return 1.0
    # scipy.stats.fisher_exact's definition (the sum of the hypergeometric probabilities of all tables
    # with these margins that are no more likely than the observed one, with its 1e-7 relative
    # tolerance), computed in one vectorized pass: fisher_exact costs ~1 ms a call, which made the
    # first render of a comparison with a hundred rows miss its 200 ms budget.
    total, fails = runs0 + runs1, fail0 + fail1
    k = np.arange(max(0, runs0 - (total - fails)), min(fails, runs0) + 1)
    log_pmf = (_log_choose(fails, k) + _log_choose(total - fails, runs0 - k)) - _log_choose(total, runs0)
    observed = _log_choose(fails, fail0) + _log_choose(total - fails, runs0 - fail0) - _log_choose(total, runs0)
    pmf = np.exp(log_pmf)
    return float(min(1.0, pmf[pmf <= np.exp(observed) * (1 + 1e-7)].sum()))


def _log_choose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _p_large(fail0: int, runs0: int, fail1: int, runs1: int) -> float:
    """Fisher's p-value, or Yates' chi-square when every expected cell holds 10 or more.

    Only for the what-if tables of runs_to_settle, which grow to many thousands of runs where
    Fisher's sum costs milliseconds and the corrected chi-square agrees with it closely.
    """
    n, fails = runs0 + runs1, fail0 + fail1
    passes = n - fails
    if min(fails, passes) * min(runs0, runs1) < 10 * n:
        return p_value(fail0, runs0, fail1, runs1)
    diff = abs(fail0 * (runs1 - fail1) - fail1 * (runs0 - fail0)) - n / 2
    if diff <= 0:
        return 1.0
    chi2 = n * diff * diff / (fails * passes * runs0 * runs1)
    return math.erfc(math.sqrt(chi2 / 2))


def _settle_estimate(fail0: int, runs0: int, fail1: int, runs1: int, alpha: float) -> float:
    """Runs a side at which a two-proportion z-test at the observed rates reaches `alpha`."""
    p0, p1 = fail0 / runs0, fail1 / runs1
    pbar = (p0 + p1) / 2
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return z * z * 2 * pbar * (1 - pbar) / ((p1 - p0) ** 2)


@lru_cache(maxsize=65536)  # busy comparisons repeat the same few counts (1:200 vs 0:200) thousands of times
def runs_to_settle(fail0: int, runs0: int, fail1: int, runs1: int, alpha: float = ALPHA) -> int | None:
    """How many more runs on each side would make the difference significant, if the rates hold.

    0 when it is already significant; None when it cannot be (equal rates, a side without runs) or
    would take more than MAX_SETTLE_RUNS. Both sides grow by the same number of runs with their
    observed rates kept, so only the evidence grows. The normal approximation gives the starting
    point (cheap), Fisher's test decides (exact); a dozen tests a row at most.
    """
    if runs0 <= 0 or runs1 <= 0 or fail0 * runs1 == fail1 * runs0:
        return None
    if p_value(fail0, runs0, fail1, runs1) < alpha:
        return 0
    estimate = _settle_estimate(fail0, runs0, fail1, runs1, alpha) - min(runs0, runs1)
    if estimate > 4 * MAX_SETTLE_RUNS:
        return None

    def settles(extra: int) -> bool:
        m0, m1 = runs0 + extra, runs1 + extra
        f0 = round(fail0 * m0 / runs0)
        f1 = round(fail1 * m1 / runs1)
        return _p_large(f0, m0, f1, m1) < alpha

    lo, hi = 0, max(8, int(estimate))
    while not settles(hi):
        if hi > MAX_SETTLE_RUNS:
            return None
        lo, hi = hi, hi * 2
    for _ in range(8):  # the p-value is not strictly monotone in the runs: a settling count, close to the least
        if hi - lo <= 1:
            break
        mid = (lo + hi) // 2
        if settles(mid):
            hi = mid
        else:
            lo = mid
    return hi


def format_p(p: float) -> str:
    """A p-value for people: 3 decimals, or 2 significant digits when tiny (1.2e-09), never 0.000."""
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def bucket(fail0: int, runs0: int, fail1: int, runs1: int, significant: bool,
           flaky_rate: float = FLAKY_RATE) -> str:
    """KernelCI's names for what happened to a failure key between base and target.

    regression / fixed: the rate went up / down and Fisher's test says so. Otherwise the difference
    is not established: "new pass" when the target has not failed (a fix not yet proven), "still
    failing" when a side fails in more than `flaky_rate` of its runs, else "flaky" (seen at low rates,
    including a few failures on the target only: a doubtful regression, see runs_to_settle).
    """
    rate0 = fail0 / runs0 if runs0 else 0.0
    rate1 = fail1 / runs1 if runs1 else 0.0
    if significant and rate1 > rate0:
        return "regression"
    if significant and rate1 < rate0:
        return "fixed"
    if fail1 == 0 and fail0 > 0:
        return "new pass"
    if max(rate0, rate1) > flaky_rate and fail0 and fail1:
        return "still failing"
    return "flaky"


@dataclass
class Comparison:
    base: str
    target: str
    runs0: int
    runs1: int
    rows: list[KeyChange]

    def by_bucket(self) -> dict[str, list[KeyChange]]:
        """Rows grouped for a page: regressions first, then fixed, flaky, new pass, still failing."""
        out: dict[str, list[KeyChange]] = {b: [] for b in BUCKET_ORDER}
        for row in self.rows:
            out[row.bucket].append(row)
        for rows in out.values():
            rows.sort(key=lambda r: (r.p_value, -abs(r.change), r.key))
        return out


def compare_counts(counts0: Mapping[str, int], runs0: int, counts1: Mapping[str, int], runs1: int,
                   base: str = "base", target: str = "target", alpha: float = ALPHA,
                   robot_arithmetic: bool = False) -> Comparison:
    """Compare from counts already aggregated (the app gets them from one GROUP BY per side)."""
    rows = []
    for key in sorted(set(counts0) | set(counts1), key=lambda k: k.encode()):
        f0, f1 = counts0.get(key, 0), counts1.get(key, 0)
        if not f0 and not f1:
            continue
        p = p_value(f0, runs0, f1, runs1)
        sig = p < alpha
        rows.append(KeyChange(
            key=key, fail0=f0, runs0=runs0, fail1=f1, runs1=runs1,
            change=reproduction(f0, runs0, f1, runs1, robot_arithmetic), p_value=p,
            bucket=bucket(f0, runs0, f1, runs1, sig), significant=sig,
            runs_to_settle=None if sig else runs_to_settle(f0, runs0, f1, runs1, alpha),
        ))
    return Comparison(base=base, target=target, runs0=runs0, runs1=runs1, rows=rows)


def compare(base_runs: Iterable[Run], target_runs: Iterable[Run], base: str = "base", target: str = "target",
            alpha: float = ALPHA, robot_arithmetic: bool = False) -> Comparison:
    """Compare two sets of runs key by key (stat keys and cluster keys alike)."""
    c0, n0 = fail_counts(base_runs)
    c1, n1 = fail_counts(target_runs)
    return compare_counts(c0, n0, c1, n1, base, target, alpha, robot_arithmetic)


# --- the robot's text table -----------------------------------------------------------------------


# printf-style formats on purpose in this section: they are the robot's own (Ruby printf), verbatim.


def _fail_runs(fail: int, runs: int) -> str:
    return ("%11d" % fail if fail else " " * 11) + ":%-4d" % runs  # noqa: UP031


def fail_runs_table(columns: Sequence[tuple[str, Mapping[str, int], int]], robot_arithmetic: bool = False) -> str:
    """The fail:runs table as lkp-tests' lib/compare.rb prints it in robot emails.

    `columns`: (commit, fail count per key, runs), the base first. Rows are the keys failing in
    any column, sorted in byte order; %reproduction compares each column with the base.
    """
    if not columns:
        return ""
    (name0, counts0, runs0), others = columns[0], columns[1:]
    lines = [
        "%-16s" % name0[:16] + "".join(" %-27s" % name[:27] for name, _, _ in others),  # noqa: UP031
        "-" * 16 + " ---------------------------" * len(others),
        "       fail:runs" + "  %reproduction    fail:runs" * len(others),
        "           |    " + "         |             |    " * len(others),
    ]
    keys: set[str] = set()
    for _, counts, _ in columns:
        keys.update(k for k, v in counts.items() if v)
    for key in sorted(keys, key=lambda k: k.encode()):
        f0 = counts0.get(key, 0)
        line = _fail_runs(f0, runs0)
        for _, counts, runs in others:
            f1 = counts.get(key, 0)
            change = reproduction(f0, runs0, f1, runs, robot_arithmetic)
            line += "%10.0f%% " % change + _fail_runs(f1, runs)  # noqa: UP031
        lines.append(line + "  " + key)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def runs_table(named_runs: Sequence[tuple[str, Iterable[Run]]], robot_arithmetic: bool = False) -> str:
    """`fail_runs_table` for lists of runs: [(commit, runs), ...], the base first."""
    columns = []
    for name, runs in named_runs:
        counts, n = fail_counts(runs)
        columns.append((name, counts, n))
    return fail_runs_table(columns, robot_arithmetic)
