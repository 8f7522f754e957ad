#!/usr/bin/env python3
"""Compare workers.codedecode's x86 sweep with GNU objdump (what scripts/decodecode runs) on real code.

Takes N random 64-byte windows from a raw code file (e.g. `objcopy -O binary --only-section=.text vmlinux
text.bin`) or random bytes, assembles them as `.byte` lines (one section each) with GNU as, disassembles
with `objdump -S` in one go, and counts windows whose instruction boundaries and mnemonics agree.

  python3 bench/codedecode_vs_objdump.py --code text.bin -n 500 [--show 5] [--bits 32]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workers.codedecode.layout import format_lines  # noqa: E402
from workers.codedecode.x86 import disassemble  # noqa: E402

LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*(\S.*)?$")


def objdump_text(samples: list[bytes], bits: int) -> list[list[str]]:
    """objdump -S's lines for each sample (headers dropped, as decodecode does)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp, "s.s"), Path(tmp, "s.o")
        src.write_text("".join(f".section .text.s{i},\"ax\"\n\t.byte {','.join(f'0x{b:02x}' for b in s)}\n"
                               for i, s in enumerate(samples)))
        subprocess.run(["as"] + (["--32"] if bits == 32 else []) + ["-o", str(obj), str(src)], check=True)
        out = subprocess.run(["objdump", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    result: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("Disassembly of section"):
            result.append([])
        elif result and line and not line.startswith("0000"):
            result[-1].append(line)
    return result


def objdump(samples: list[bytes], bits: int) -> list[list[tuple[int, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp, "s.s"), Path(tmp, "s.o")
        src.write_text("".join(f".section .text.s{i},\"ax\"\n\t.byte {','.join(f'0x{b:02x}' for b in s)}\n"
                               for i, s in enumerate(samples)))
        subprocess.run(["as"] + (["--32"] if bits == 32 else []) + ["-o", str(obj), str(src)], check=True)
        out = subprocess.run(["objdump", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    result: list[list[tuple[int, str]]] = []
    for line in out.splitlines():
        if line.startswith("Disassembly of section"):
            result.append([])
        elif result:
            m = LINE.match(line)
            if m and m.group(3):
                result[-1].append((int(m.group(1), 16), m.group(3).split()[0]))
            elif line.strip() == "...":
                pass
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", help="raw code bytes to sample (default: random bytes)")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=3, help="print this many disagreeing windows")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    blob = Path(args.code).read_bytes() if args.code else None
    samples = []
    for _ in range(args.n):
        if blob:
            at = rng.randrange(len(blob) - 64)
            samples.append(blob[at:at + 64])
        else:
            samples.append(bytes(rng.randrange(256) for _ in range(64)))
    want_all = objdump(samples, args.bits)
    start = time.perf_counter()
    got_all = [[(i.offset, i.mnemonic) for i in disassemble(s, args.bits) if i.text] for s in samples]
    elapsed = time.perf_counter() - start
    bounds = mnem = mnem_total = shown = 0
    for s, want, got in zip(samples, want_all, got_all, strict=True):
        same = [o for o, _ in want] == [o for o, _ in got]
        bounds += same
        if same:
            mnem_total += len(want)
            mnem += sum(a == b for (_, a), (_, b) in zip(want, got, strict=False))
        if (not same or any(a != b for (_, a), (_, b) in zip(want, got, strict=False))) and shown < args.show:
            shown += 1
            print(s.hex(" "))
            for k in range(max(len(want), len(got))):
                w = want[k] if k < len(want) else None
                g = got[k] if k < len(got) else None
                print(f"   {'  ' if w == g else '!!'} objdump {w}  ours {g}")
    arch = "x86_64" if args.bits == 64 else "i386"
    text_same = text_total = 0
    for s, want_lines in zip(samples, objdump_text(samples, args.bits), strict=True):
        got_lines = format_lines(disassemble(s, args.bits), arch)
        text_total += len(want_lines)
        text_same += sum(a == b for a, b in zip(want_lines, got_lines, strict=False))
    print(f"load: {os.getloadavg()[0]:.2f}; {len(samples)} windows decoded in {elapsed * 1000:.0f} ms")
    print(f"lines identical to objdump's (layout and operands): {text_same}/{text_total}")
    print(f"same boundaries: {bounds}/{len(samples)}; same mnemonics: {mnem}/{mnem_total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
