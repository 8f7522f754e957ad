"""Parser speed: MB/s over the shared corpora in one process, and pathological inputs that must stay linear.

Run by hand: `.venv/bin/python bench/parse.py [--repeat N] [--big MIB]`. Prints numbers and the machine load
(other agents share the cores, so compare runs made under similar load).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from pathlib import Path

from workers.parser import parse_log
from workers.statkeys import stat_keys

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def corpus_logs() -> list[bytes]:
    logs = []
    for pattern in ("lab/logs/*.log", "lab-ppc64/logs/*.log", "lkp/dmesg/*", "lkp/kmsg/*", "lkp/syzkaller/*"):
        logs += [p.read_bytes() for p in sorted(SHARED.glob(pattern)) if p.suffix != ".yaml" and p.is_file()]
    dev = SHARED / "syzkaller" / "dev.jsonl"
    if dev.exists():
        for line in dev.open():
            row = json.loads(line)
            logs.append(base64.b64decode(row["log_b64"]) if row.get("log_b64") else row["log"].encode())
    return logs


def timed(data: bytes) -> float:
    """CPU seconds of one parse: wall time would mostly measure the other agents on the machine."""
    t = time.process_time()
    parse_log(data)
    return time.process_time() - t


def timed_keys(data: bytes) -> float:
    t = time.process_time()
    stat_keys(data)
    return time.process_time() - t


def pathological(scale: int) -> dict[str, bytes]:
    """Inputs that make careless parsers quadratic, at `scale` x the base size."""
    frame = b"[  1.000000]  some_function_name+0x1f/0x30 [module]\n"
    kasan = b"[  1.0] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2\n"
    return {
        # Crafted by review: nested `.*` in a title regex, and report regexes tried from every lookalike.
        "400 mm/.c lines": (b"[  1.0] WARNING: " + b"mm/.c " * 400 + b"\n") * (400 * scale),
        "KASAN + 200 lookalikes": (kasan + (b"[  1.0] DEBUG: BUG: KASAN: a in f. " + b"x" * 1900 + b"\n") * 200)
        * (2 * scale),
        "lockdep + 400 takes": (b"[  1.0] WARNING: inconsistent lock state\n"
                                + b"[  1.0] takes " + b"x" * 1000 + b"\n") * (200 * scale),
        "1 MB line": b"x" * (1 << 20) * scale,
        "1 MB line of headers": b"WARNING: at a.c:1 BUG: KASAN: x in f+0 " * (28000 * scale),
        "100k frames": b"[  1.0] BUG: KASAN: slab-use-after-free in f+0x1/0x2\n[  1.0] Call Trace:\n"
        + frame * (100_000 * scale),
        "100k headers": b"[  1.0] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n" * (100_000 * scale),
        "100k NMI backtraces": b"[  1.0] NMI backtrace for cpu 1\n[  1.0] RIP: 0010:f+0x1/0x2\n" * (100_000 * scale),
        "100k OOM kills": (b"[  1.0] a invoked oom-killer: gfp_mask=0x0(), order=0\n[  1.0] Call Trace:\n" + frame
                           + b"[  1.0] Out of memory: Killed process 1 (a)\n") * (100_000 * scale),
        "100k callers' headers": b"".join(b"[  1.0][ T%d] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n" % i
                                          for i in range(100_000 * scale)),
    }


def many_reports(mib: int) -> bytes:
    """A log of `mib` MiB: the lab WARNING log's boot, then its one report again and again."""
    data = (SHARED / "lab" / "logs" / "WARNING.log").read_bytes()
    report = parse_log(data).reports[0]
    lines = data.splitlines(keepends=True)
    head, chunk = b"".join(lines[:report.start_line]), b"".join(lines[report.start_line:report.end_line + 1])
    return head + chunk * ((mib * 1024 * 1024 - len(head)) // len(chunk))


def big(mib: int) -> None:
    """Reports past the app's cap are counted, not built: the cost of a huge log with and without it."""
    data = many_reports(mib)
    for cap in (1000, None):
        t = time.process_time()
        parsed = parse_log(data, max_reports=cap)
        print(f"{mib} MiB, {len(parsed.reports) + parsed.reports_dropped} reports, max_reports={cap}: "
              f"{time.process_time() - t:.1f} CPU s ({len(parsed.reports)} built)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="passes over the corpus (the best is kept)")
    ap.add_argument("--big", type=int, metavar="MIB", help="only time a log of MIB MiB of reports, capped and not")
    args = ap.parse_args()
    if args.big:
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        big(args.big)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} CPUs")
    logs = corpus_logs()
    total = sum(map(len, logs))
    if logs:
        wall = time.perf_counter()
        best = min(sum(timed(d) for d in logs) for _ in range(args.repeat))
        wall = (time.perf_counter() - wall) / args.repeat
        print(f"corpus: {len(logs)} logs, {total / 1e6:.2f} MB in {best:.2f} CPU s = {total / 1e6 / best:.1f} MB/s "
              f"(wall clock {total / 1e6 / wall:.1f} MB/s)")
        keys = min(sum(timed_keys(d) for d in logs) for _ in range(args.repeat))
        print(f"  of which stat keys (workers.statkeys): {keys:.2f} CPU s; reports alone: "
              f"{total / 1e6 / max(best - keys, 1e-9):.1f} MB/s")
    else:
        print("corpus: ../shared not found, skipped")
    for name, data in pathological(1).items():
        t1 = timed(data)
        t2 = timed(pathological(2)[name])
        print(f"{name:22s} {len(data) / 1e6:5.1f} MB: {t1:6.2f} CPU s; twice the size: {t2:6.2f} s "
              f"(ratio {t2 / t1:.1f}, linear = 2)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
