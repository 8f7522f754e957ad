"""Engine-only cost of a comparison: two commits, 1,000 runs each, 50 clusters + stat keys.

    .venv/bin/python bench/compare_engine.py

Prints the time of `compare()` (Fisher's test and runs-to-settle per key) and of the robot's table,
with the machine's load; the app's page adds its queries on top (bench/compare, issue 5).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.compare import Run, compare, p_value, runs_table  # noqa: E402


def make_runs(rng: random.Random, n: int, rates: dict[str, float]) -> list[Run]:
    return [Run.of(str(i), [k for k, r in rates.items() if rng.random() < r]) for i in range(n)]


def main() -> None:
    rng = random.Random(1)
    keys = [f"cluster:bug {i}" for i in range(50)] + [f"dmesg.WARNING:at_file{i}.c:#f{i}" for i in range(50)]
    base_rates = {k: rng.choice([0, 0, 0.001, 0.01, 0.05, 0.3]) for k in keys}
    target_rates = {k: max(0.0, r + rng.choice([0, 0, 0.002, 0.02, -0.01])) for k, r in base_rates.items()}
    base, target = make_runs(rng, 1000, base_rates), make_runs(rng, 1000, target_rates)
    for label in ("cold", "warm"):
        if label == "cold":
            p_value.cache_clear()
        start = time.perf_counter()
        result = compare(base, target)
        mid = time.perf_counter()
        runs_table([("base", base), ("target", target)])
        end = time.perf_counter()
        print(f"{label}: compare {1000 * (mid - start):.1f} ms ({len(result.rows)} keys), table {1000 * (end - mid):.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
