#!/usr/bin/env python3
"""Benchmark the symbolizer as people use it: whole processes on the same trace, against the other tools.

  .venv/bin/python bench/symbolize.py                       # the lab vmlinux (../shared/corpus/lab)
  .venv/bin/python bench/symbolize.py --vmlinux path/to/vmlinux --work /tmp/symbench [--reuse]

A distribution kernel (the issue's target; never commit it):
  apt-get update && apt-get download linux-image-6.12.118+deb12-amd64-dbg
  dpkg-deb --fsys-tarfile linux-image-*-dbg_*.deb | tar -x --wildcards './usr/lib/debug/boot/vmlinux-*'
  (arm64: dpkg --add-architecture arm64 && apt-get update && apt-get download linux-image-...-arm64-dbg:arm64)

What it prints, with the load average beside each figure (the machine is shared: run when it is quiet):
- index build: wall time, peak RSS of the builder and of its reader processes (summed, sampled), CUs;
- lazy decode before any index (`triage decode --lazy`, fresh process) of a 30- and a 200-frame trace:
  first run (CUs parsed) and second run (CUs read back from the store), as % of the build time;
- warm whole-process decode (`triage decode --vmlinux INDEX`, median of N) of both traces, and
  `llvm-symbolizer --inlining`, `eu-addr2line -i` and `addr2line -i` on the same addresses (stdin, one
  process each, median of M), with the ratios tool / triage; agreement = same file:line chain;
- the in-process figure (index mapped, frames resolved, no process start), labelled as such.

Traces are `func+off/size` frames picked at random (seeded) among functions with line information, with
the size the kernel would print. Tools and triage run with bytecode caching on (PYTHONDONTWRITEBYTECODE
removed), as an installed command runs.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.symbolize import Index  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TRIAGE = [str(Path(sys.executable).with_name("triage"))]
if not Path(TRIAGE[0]).exists():
    TRIAGE = [sys.executable, "-m", "workers.cli"]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def lab_vmlinux() -> Path:
    packed = ROOT.parent / "shared" / "corpus" / "lab" / "kernel" / "vmlinux.xz"
    out = Path(tempfile.gettempdir()) / "triage-bench-vmlinux"
    if not out.exists():
        with lzma.open(packed) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return out


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its descendants (shared pages counted in each: an upper bound)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def build(vmlinux: Path, index_dir: Path) -> dict:
    code = ("import sys, json, resource; from workers.symbolize import build_index; "
            "i = build_index(sys.argv[1], sys.argv[2]); "
            "print(json.dumps(dict(i.to_dict(), children_max_rss_mib="
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)))")
    before = load()
    start = time.monotonic()
    cpu = cpu_seconds()
    proc = subprocess.Popen([sys.executable, "-c", code, str(vmlinux), str(index_dir)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env=ENV)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.monotonic() - start
    sampler.join()
    info = json.loads(out.strip().splitlines()[-1])
    info.update(wall=seconds, cpu=cpu_seconds() - cpu, tree_peak_mib=peak[0] / 1024, load_before=before,
                load_after=load())
    return info


def pick_trace(index: Index, count: int, seed: int) -> tuple[str, list[int], list[tuple[str, int]]]:
    """A `Call Trace:` of `count` frames, the looked-up addresses, and (name, offset) pairs."""
    rng = random.Random(seed)
    sized = [i for i in range(len(index.symbol_names)) if index.sym_size[i] > 8 and index.sym_kind[i] == 0]
    lines, addrs, pairs = ["Call Trace:"], [], []
    while len(addrs) < count:
        i = rng.choice(sized)
        name = index.symbol_names[i]
        base = index.symbol_address(name)
        if base != index.sym_addr[i] or not index.lookup(base):
            continue
        off = rng.randrange(1, index.sym_size[i])
        size = index.kallsyms_size(base) or index.sym_size[i]
        lines.append(f"[   12.345678]  {name}+{off:#x}/{size:#x}")
        addrs.append(base + off)
        pairs.append((name, off))
    return "\n".join(lines) + "\n", addrs, pairs


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], runs: int, stdin: str | None = None) -> tuple[float, float, str]:
    """Median wall seconds and median CPU seconds (user + sys, the process and its children: less
    sensitive to the load than wall time) of `runs` runs after a warm-up run, and the last output."""
    out = ""
    times, cpus = [], []
    for k in range(runs + 1):
        start, cpu = time.monotonic(), cpu_seconds()
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=ENV, cwd=ROOT)
        if k:
            times.append(time.monotonic() - start)
            cpus.append(cpu_seconds() - cpu)
        out = proc.stdout
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed: {proc.stderr[-500:]}")
    return statistics.median(times), statistics.median(cpus), out


def norm(loc: str) -> str:
    """file:line without discriminator or column, path normalized (tools join directories differently)."""
    loc = loc.split(" (discriminator")[0].strip()
    parts = loc.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():  # eu-addr2line: file:line:column
        loc = f"{parts[0]}:{parts[1]}"
    path, _, line = loc.rpartition(":")
    return f"{os.path.normpath(path)}:{line}"


def tool_chains(out: str) -> list[list[str]]:
    """Per address (lines starting with 0x), the file:line entries that follow (innermost first)."""
    blocks: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("0x"):
            blocks.append([])
        elif blocks and ":" in line and not line.startswith("??"):
            blocks[-1].append(norm(line))
    return blocks


def our_chains(index: Index, addrs: list[int]) -> list[list[str]]:
    return [[norm(f"{loc.file}:{loc.line}") for loc in index.lookup(a)] for a in addrs]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmlinux", help="default: the lab vmlinux (unpacked once to the temp dir)")
    ap.add_argument("--work", help="folder for the index, caches and traces (default: a temp folder)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing index in WORK/index")
    ap.add_argument("--runs", type=int, default=7, help="whole-process runs of triage per figure (median)")
    ap.add_argument("--tool-runs", type=int, default=3, help="runs of each other tool per figure (median)")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    vmlinux = Path(args.vmlinux) if args.vmlinux else lab_vmlinux()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="triage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    index_dir = work / "index"
    print(f"load (1/5/15 min) {load()}, {os.cpu_count()} CPUs; vmlinux {vmlinux} "
          f"({vmlinux.stat().st_size / 2**20:.0f} MiB)")

    if not (args.reuse and (index_dir / "meta.json").exists()):
        shutil.rmtree(index_dir, ignore_errors=True)
        b = build(vmlinux, index_dir)
        build_s, build_cpu = b["wall"], b["cpu"]
        size = sum(p.stat().st_size for p in index_dir.iterdir()) / 2**20
        print(f"index build: {b['wall']:.1f} s wall ({b['seconds']} s inside, {b['cpu']:.1f} s CPU), {b['cus']} CUs, "
              f"{b['line_rows']} line rows; peak RSS builder {b['max_rss_mib']:.0f} MiB, largest reader "
              f"{b['children_max_rss_mib']:.0f} MiB, whole process tree {b['tree_peak_mib']:.0f} MiB (sampled, "
              f"shared pages counted per process); index {size:.0f} MiB; load {b['load_before']} -> {b['load_after']}")
    else:
        build_s = json.loads((index_dir / "meta.json").read_text())["seconds"]
        build_cpu = build_s * (os.cpu_count() or 1)  # unknown: as if every core had been busy
        print(f"index reused (its build took {build_s} s)")
    index = Index(index_dir)

    traces = {}
    for n in (30, 200):
        text, addrs, pairs = pick_trace(index, n, args.seed + n)
        path = work / f"trace{n}.log"
        path.write_text(text)
        traces[n] = (path, addrs, pairs)

    # lazy: no index yet, a fresh cache; the first run parses CUs, the second reads the ones kept
    for n, (path, _addrs, _pairs) in traces.items():
        cache = work / f"lazy-cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        cmd = [*TRIAGE, "decode", "--lazy", "--cache", str(cache), "--vmlinux", str(vmlinux), str(path)]
        for label in ("first", "second"):
            before = load()
            start, cpu = time.monotonic(), cpu_seconds()
            subprocess.run(cmd, capture_output=True, env=ENV, cwd=ROOT, check=True)
            took, cpu = time.monotonic() - start, cpu_seconds() - cpu
            print(f"lazy {n} frames, {label} run (whole process): {took:.2f} s = {100 * took / build_s:.0f}% of "
                  f"the build's wall time ({cpu:.2f} s CPU = {100 * cpu / build_cpu:.0f}% of the build's CPU); "
                  f"load {before}")

    # warm whole processes on the same addresses
    tools = {
        "llvm-symbolizer --inlining": ["llvm-symbolizer", "--inlining", "--output-style=GNU", "-f",
                                       "--print-address", "-e", str(vmlinux)],
        "eu-addr2line -i": ["eu-addr2line", "-a", "-f", "-i", "-e", str(vmlinux)],
        "addr2line -f -i": ["addr2line", "-a", "-f", "-i", "-e", str(vmlinux)],
    }
    for n, (path, addrs, pairs) in traces.items():
        before = load()
        ours_s, ours_cpu, out = timed([*TRIAGE, "decode", "--vmlinux", str(index_dir), str(path)], args.runs)
        decoded = sum(1 for line in out.splitlines() if " (" in line and ":" in line)
        start = time.monotonic()
        Index(index_dir)  # in process: map + resolve, no interpreter start
        inproc = [index.lookup(index.symbol_address(name) + off) for name, off in pairs]
        inproc_s = time.monotonic() - start
        mine = our_chains(index, addrs)
        print(f"{n} frames: triage decode (whole process, warm, median of {args.runs}) {ours_s * 1000:.0f} ms "
              f"({ours_cpu * 1000:.0f} ms CPU), "
              f"{decoded}/{n} frames decoded; in process (no start-up) {inproc_s * 1000:.1f} ms; load {before}")
        assert all(inproc)
        stdin = "\n".join(hex(a) for a in addrs) + "\n"
        for label, cmd in tools.items():
            if shutil.which(cmd[0]) is None:
                print(f"  {label}: not installed")
                continue
            before = load()
            secs, cpu, out = timed(cmd, args.tool_runs, stdin)
            theirs = tool_chains(out)
            same = sum(a == b for a, b in zip(mine, theirs, strict=False))
            print(f"  {label}: {secs * 1000:.0f} ms = {secs / ours_s:.1f}x triage's wall time ({cpu * 1000:.0f} ms "
                  f"CPU = {cpu / ours_cpu:.1f}x); same file:line chain {same}/{n}; load {before}")
    print(f"load after: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
