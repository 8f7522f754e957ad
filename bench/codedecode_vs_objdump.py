#!/usr/bin/env python3
"""Compare workers.codedecode's sweep with GNU objdump (what scripts/decodecode runs) on real code.

Takes N random 64-byte windows from a raw code file (e.g. `objcopy -O binary --only-section=.text vmlinux
text.bin`) or random bytes, assembles them the way decodecode does (`.byte`, or `.4byte`/`.inst` words for
powerpc/arm64, `.2byte` parcels for riscv; one section per window) with GNU as, disassembles them with
`objdump -S` in one go, and counts windows whose instruction boundaries and mnemonics agree, and lines
identical to objdump's.

  python3 bench/codedecode_vs_objdump.py --code text.bin -n 500 [--show 5] [--arch i386]

Other arches need Debian's cross binutils (binutils-powerpc64-linux-gnu, ...aarch64..., ...riscv64...).
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
from workers.codedecode import disassemble  # noqa: E402
from workers.codedecode.layout import format_lines  # noqa: E402

# arch -> (binutils prefix, as flags, directive, unit bytes, byte order of the windows' units)
ARCHES = {
    "x86_64": ("", [], ".byte", 1, "little"),
    "i386": ("", ["--32"], ".byte", 1, "little"),
    "powerpc64": ("powerpc64-linux-gnu-", [], ".4byte", 4, "big"),
    "powerpc64le": ("powerpc64le-linux-gnu-", [], ".4byte", 4, "little"),
    "arm64": ("aarch64-linux-gnu-", [], ".inst", 4, "little"),
    "riscv64": ("riscv64-linux-gnu-", [], ".2byte", 2, "little"),
}
LINE = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+|[0-9a-f]{4,8}(?: [0-9a-f]{4})?\s*)\s*\t(\S.*)?$")


def objdump_lines(samples: list[bytes], arch: str) -> list[list[str]]:
    """objdump -S's lines for each sample (headers dropped, as decodecode does)."""
    prefix, flags, directive, unit, order = ARCHES[arch]
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp, "s.s"), Path(tmp, "s.o")
        parts = []
        for i, s in enumerate(samples):
            words = [f"0x{int.from_bytes(s[k:k + unit], order):0{2 * unit}x}" for k in range(0, len(s), unit)]
            parts.append(f'.section .text.s{i},"ax"\n\t{directive} {",".join(words)}\n')
        src.write_text("".join(parts))
        subprocess.run([prefix + "as", *flags, "-o", str(obj), str(src)], check=True)
        if arch in ("arm64", "riscv64"):  # decodecode strips these, so branch targets print bare
            subprocess.run([prefix + "strip", str(obj)], check=True)
        cmd = [prefix + "objdump", "-S", str(obj)]
        if arch.startswith("riscv"):
            cmd[1:1] = ["-M", "no-aliases"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("Disassembly of section"):
            result.append([])
        elif result and line and not line.startswith("0000"):
            result[-1].append(line)
    return result


def insns(lines: list[str]) -> list[tuple[int, str]]:
    found = []
    for line in lines:
        m = LINE.match(line)
        if m and m.group(3):
            found.append((int(m.group(1), 16), m.group(3).split()[0]))
    return found


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", help="raw code bytes to sample (default: random bytes)")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--arch", default="x86_64", choices=sorted(ARCHES))
    ap.add_argument("--bits", type=int, help="32: same as --arch i386")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=3, help="print this many disagreeing windows")
    args = ap.parse_args()
    arch = "i386" if args.bits == 32 else args.arch
    unit = ARCHES[arch][3]
    rng = random.Random(args.seed)
    blob = Path(args.code).read_bytes() if args.code else None
    samples = []
    for _ in range(args.n):
        if blob:
            at = rng.randrange(len(blob) - 64) & ~(unit - 1)
            samples.append(blob[at:at + 64])
        else:
            samples.append(bytes(rng.randrange(256) for _ in range(64)))
    want_all = objdump_lines(samples, arch)
    start = time.perf_counter()
    got_all = [format_lines(disassemble(s, arch, unit if arch.startswith("riscv") else 1), arch) for s in samples]
    elapsed = time.perf_counter() - start
    bounds = mnem = mnem_total = shown = text_same = text_total = 0
    for s, want_lines, got_lines in zip(samples, want_all, got_all, strict=True):
        want, got = insns(want_lines), insns(got_lines)
        same = [o for o, _ in want] == [o for o, _ in got]
        bounds += same
        if same:
            mnem_total += len(want)
            mnem += sum(a == b for (_, a), (_, b) in zip(want, got, strict=True))
        text_total += len(want_lines)
        text_same += sum(a == b for a, b in zip(want_lines, got_lines, strict=False))
        if want_lines != got_lines and shown < args.show:
            shown += 1
            print(s.hex(" "))
            for k in range(max(len(want_lines), len(got_lines))):
                w = want_lines[k] if k < len(want_lines) else None
                g = got_lines[k] if k < len(got_lines) else None
                print(f"   {'  ' if w == g else '!!'} objdump {w!r}\n      ours    {g!r}")
    print(f"load: {os.getloadavg()[0]:.2f}; {arch}: {len(samples)} windows decoded in {elapsed * 1000:.0f} ms")
    print(f"lines identical to objdump's (layout and operands): {text_same}/{text_total}")
    print(f"same boundaries: {bounds}/{len(samples)}; same mnemonics: {mnem}/{mnem_total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
