"""Benchmark stat-key extraction: MB/s over the shared corpus and on pathological inputs.

    .venv/bin/python bench/statkeys.py [DIR...]     # default: ../shared/corpus
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from workers.statkeys import stat_keys


def _rate(label: str, texts: list[bytes] | list[str], names: list[str] | None = None) -> None:
    size = sum(len(t) for t in texts)
    names = names or [""] * len(texts)
    start = time.perf_counter()
    for t, name in zip(texts, names, strict=True):
        stat_keys(t, name or None)
    took = time.perf_counter() - start
    print(f"{label}: {size / 1e6:.1f} MB in {took:.2f} s = {size / 1e6 / took:.1f} MB/s")


def main() -> int:
    roots = [Path(a) for a in sys.argv[1:]] or [Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"]
    texts, names = [], []
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix not in (".yaml", ".json", ".md") and "vmlinux" not in p.name:
                texts.append(p.read_bytes())
                names.append(str(p))  # the path decides dmesg / kmsg mode, as in `triage parse`
    print(f"load average: {os.getloadavg()}")
    if texts:
        _rate(f"corpus ({len(texts)} files)", texts, names)
    _rate("1 MB single line", ["BUG: " + "a" * 1_000_000 + "+0x1/0x2\n"])
    _rate("100k address frames", ["[ 1.000000]  [<ffffffff81000000>] f+0x1/0x2\n" * 100_000])
    _rate("100k distinct WARNING heads", [
        "".join(f"[ 1.0] WARNING: CPU: 0 PID: {i} at kernel/f{i}.c:{i} fn{i}+0x1/0x2\n" for i in range(100_000))])
    _rate("20 MB random-ish text", [("lock stack error fault INFO " * 40 + "\n") * 18_000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
