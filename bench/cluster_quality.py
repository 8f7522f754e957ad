"""Clustering quality on perturbed lab logs: pairwise precision and recall (run from the repo root).

    .venv/bin/python bench/cluster_quality.py [VARIANTS]

Each lab log (../shared/corpus/lab*/logs) is booted again on paper VARIANTS times (new timestamps,
pids, CPUs, addresses, register values); the first report of each is clustered. Printed: precision
and recall against the title of the unperturbed log and against the lkdtm type itself.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workers.test_cluster import SHARED, measure  # noqa: E402


def main() -> None:
    variants = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    folders = [SHARED / "lab" / "logs", SHARED / "lab-ppc64" / "logs"]
    start = time.perf_counter()
    p, r, n = measure(folders, variants)
    ps, rs, _ = measure(folders, variants, strict=True)
    took = time.perf_counter() - start
    print(f"load average {os.getloadavg()[0]:.2f}; {n} reports ({variants} variants a log) in {took:.1f} s (both passes)")
    print(f"truth = lkdtm type:  precision {ps:.3f}  recall {rs:.3f}")
    print(f"truth = clean title: precision {p:.3f}  recall {r:.3f}")


if __name__ == "__main__":
    main()
