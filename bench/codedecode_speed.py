#!/usr/bin/env python3
"""Time decode_code_line on every Code: line of the lab logs (../shared/corpus/lab*/logs/*.log).

  python3 bench/codedecode_speed.py [--repeat 5] [LOG ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from workers.codedecode import arch_hint, decode_code_line  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("logs", nargs="*")
    args = ap.parse_args()
    paths = [Path(p) for p in args.logs] or sorted(ROOT.parent.glob("shared/corpus/lab*/logs/*.log"))
    work = []
    for path in paths:
        text = path.read_text(errors="replace")
        hint = arch_hint(text)
        work += [(line, hint) for line in text.splitlines() if "Code:" in line]
    if not work:
        print("no Code: lines found")
        return 1
    start = time.perf_counter()
    for _ in range(args.repeat):
        for line, hint in work:
            decode_code_line(line, hint)
    elapsed = time.perf_counter() - start
    per = elapsed / (len(work) * args.repeat)
    print(f"load: {os.getloadavg()[0]:.2f}; {len(work)} Code: lines x {args.repeat}: "
          f"{per * 1000:.2f} ms per line ({1 / per:.0f} lines/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
