#!/usr/bin/env python3
"""Benchmark the symbolizer: index build (time, max RSS) and 200 frames vs addr2line / llvm-symbolizer.

  .venv/bin/python bench/symbolize.py                       # the lab vmlinux (../shared/corpus/lab)
  .venv/bin/python bench/symbolize.py --vmlinux path/to/vmlinux --index /tmp/idx --reuse

Frames are `func+off` picked at random (seeded) among addresses with inlined code, resolved like
decode_stacktrace.sh does (symbol address + offset, then the inline chain). "warm" = index loaded, second
pass; addr2line and llvm-symbolizer get the 200 addresses in one call each (as a batch decoder would).
Agreement = same file:line chain (innermost first) as the tool.
"""

from __future__ import annotations

import argparse
import lzma
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.symbolize import Index  # noqa: E402


def lab_vmlinux() -> Path:
    packed = ROOT.parent / "shared" / "corpus" / "lab" / "kernel" / "vmlinux.xz"
    out = Path(tempfile.gettempdir()) / "triage-bench-vmlinux"
    if not out.exists():
        with lzma.open(packed) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return out


def build_in_child(vmlinux: Path, index_dir: Path) -> tuple[float, float]:
    """Build in a child process so that its max RSS is measured alone (RUSAGE_CHILDREN)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from workers.symbolize import build_index; "
            "build_index(sys.argv[1], sys.argv[2])")
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code, str(vmlinux), str(index_dir)], check=True)
    seconds = time.monotonic() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def pick_frames(index: Index, count: int, seed: int) -> list[tuple[str, int, int]]:
    """(name, offset, address) of `count` frames inside functions, most with inline chains."""
    rng = random.Random(seed)
    sized = [i for i in range(len(index.symbol_names)) if int(index.sym_size[i]) > 8
             and int(index.sym_kind[i]) == 0]
    frames: list[tuple[str, int, int]] = []
    tries = 0
    while len(frames) < count and tries < count * 200:
        tries += 1
        i = rng.choice(sized)
        name = index.symbol_names[i]
        base = index.symbol_address(name)
        if base is None:
            continue
        off = rng.randrange(int(index.sym_size[i]))
        chain = index.lookup(base + off)
        if len(chain) >= 2 or (chain and tries > count * 100):
            frames.append((name, off, base + off))
    return frames


def ours(index: Index, frames: list[tuple[str, int, int]]) -> list[list[str]]:
    out = []
    for name, off, _addr in frames:
        base = index.symbol_address(name)
        out.append([f"{loc.file}:{loc.line}" for loc in index.lookup((base or 0) + off)])
    return out


def run_tool(cmd: list[str], addrs: list[int]) -> tuple[float, list[list[str]]]:
    start = time.monotonic()
    proc = subprocess.run(cmd, input="\n".join(hex(a) for a in addrs) + "\n", capture_output=True, text=True)
    seconds = time.monotonic() - start
    blocks: list[list[str]] = []
    for line in proc.stdout.splitlines():
        if line.startswith("0x"):
            blocks.append([])
        elif blocks and ":" in line and not line.startswith("??:0"):
            loc = line.split(" (discriminator")[0]
            blocks[-1].append(loc)
    return seconds, blocks


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmlinux", help="default: the lab vmlinux (unpacked once to the temp dir)")
    ap.add_argument("--index", help="index folder (default: a temp folder)")
    ap.add_argument("--reuse", action="store_true", help="use an existing index in --index")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    vmlinux = Path(args.vmlinux) if args.vmlinux else lab_vmlinux()
    index_dir = Path(args.index) if args.index else Path(tempfile.mkdtemp(prefix="triage-bench-")) / "index"
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1/5/15 min), {os.cpu_count()} CPUs")
    print(f"vmlinux: {vmlinux} ({vmlinux.stat().st_size / 2**20:.0f} MiB)")
    if not (args.reuse and (index_dir / "meta.json").exists()):
        seconds, rss = build_in_child(vmlinux, index_dir)
        size = sum(p.stat().st_size for p in index_dir.iterdir()) / 2**20
        print(f"index build: {seconds:.1f} s, max RSS {rss:.0f} MiB, index {size:.0f} MiB on disk")
    start = time.monotonic()
    index = Index(index_dir)
    index.symbol_address("schedule")  # builds the name table
    print(f"index load (+ name table): {(time.monotonic() - start) * 1000:.1f} ms")
    frames = pick_frames(index, args.frames, args.seed)
    addrs = [a for _n, _o, a in frames]
    start = time.monotonic()
    first = ours(index, frames)
    cold = time.monotonic() - start
    start = time.monotonic()
    mine = ours(index, frames)
    warm = time.monotonic() - start
    inl = sum(len(c) >= 2 for c in mine)
    print(f"{len(frames)} frames ({inl} with inline chains): first pass {cold * 1000:.1f} ms, "
          f"warm {warm * 1000:.2f} ms")
    assert first == mine
    for label, cmd in (("addr2line -f -i", ["addr2line", "-f", "-i", "-a", "-e", str(vmlinux)]),
                       ("llvm-symbolizer --inlining", ["llvm-symbolizer", "--inlining", "--output-style=GNU",
                                                       "-f", "--print-address", "-e", str(vmlinux)])):
        if shutil.which(cmd[0]) is None:
            print(f"{label}: not installed")
            continue
        seconds, theirs = run_tool(cmd, addrs)
        same = sum(a == b for a, b in zip(mine, theirs, strict=False))
        print(f"{label}: {seconds * 1000:.0f} ms for the same {len(addrs)} frames = {seconds / warm:.0f}x the "
              f"warm index; agreement {same}/{len(addrs)} ({100.0 * same / len(addrs):.1f}%)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
