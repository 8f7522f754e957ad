"""Disassembly of the fixed- and variable-width RISC arches (arm64, arm, powerpc, riscv, s390) with capstone.

objdump walks the bytes one instruction at a time and prints what it cannot decode as data (`.long`,
`.inst`, `.short`) of the arch's unit size, then goes on after it; this does the same.
"""

from __future__ import annotations

from functools import lru_cache

import capstone

from . import arm64, ppc, riscv
from .insn import Insn, zero_run

# arch -> (capstone arch, mode, unit for undecodable data, data directive)
_ENGINES = {
    "arm64": (capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM, 4, ".inst"),
    "arm": (capstone.CS_ARCH_ARM, capstone.CS_MODE_ARM, 4, ".word"),
    "thumb": (capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB, 2, ".short"),
    "powerpc64": (capstone.CS_ARCH_PPC, capstone.CS_MODE_64 | capstone.CS_MODE_BIG_ENDIAN, 4, ".long"),
    "powerpc": (capstone.CS_ARCH_PPC, capstone.CS_MODE_32 | capstone.CS_MODE_BIG_ENDIAN, 4, ".long"),
    "powerpc64le": (capstone.CS_ARCH_PPC, capstone.CS_MODE_64 | capstone.CS_MODE_LITTLE_ENDIAN, 4, ".long"),
    "riscv64": (capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC, 2, ".2byte"),
    "riscv32": (capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32 | capstone.CS_MODE_RISCVC, 2, ".2byte"),
    "s390": (capstone.CS_ARCH_SYSZ, capstone.CS_MODE_BIG_ENDIAN, 2, ".short"),
}
BIG_ENDIAN = {"powerpc64", "powerpc", "s390"}


@lru_cache(maxsize=16)
def _engine(arch: str) -> capstone.Cs:
    cs_arch, mode, _, _ = _ENGINES[arch]
    return capstone.Cs(cs_arch, mode)


def supported(arch: str) -> bool:
    return arch in _ENGINES


def _text(arch: str, mnemonic: str, op_str: str, address: int = 0) -> str:
    if arch.startswith("powerpc"):
        mnemonic, ops = ppc.spell(mnemonic, op_str)
        return f"{mnemonic:<7} {ops}" if ops else mnemonic
    if arch == "s390":
        return f"{mnemonic:<7} {op_str.replace(', ', ',')}" if op_str else mnemonic
    if arch == "arm64":
        return arm64.spell(mnemonic, op_str)
    if arch.startswith("riscv"):
        return riscv.spell(mnemonic, op_str, address)
    return f"{mnemonic}\t{op_str}" if op_str else mnemonic


def disassemble(buf: bytes, arch: str) -> list[Insn]:
    """objdump's sweep of `buf` for `arch` (a key of _ENGINES), offsets from 0."""
    md = _engine(arch)
    unit, directive = _ENGINES[arch][2], _ENGINES[arch][3]
    big = arch in BIG_ENDIAN
    out: list[Insn] = []
    at = 0
    while at < len(buf):
        skip = zero_run(buf, at)
        if skip and (skip % unit == 0 or at + skip == len(buf)):
            out.append(Insn(at, buf[at:at + skip], None))
            at += skip
            continue
        insn = next(md.disasm(buf[at:], at, count=1), None)
        if insn is not None:
            out.append(Insn(at, bytes(insn.bytes), _text(arch, insn.mnemonic, insn.op_str, at)))
            at += insn.size
            continue
        size = unit
        if arch.startswith("riscv") and buf[at] & 3 == 3 and at + 4 <= len(buf):
            size, directive = 4, ".4byte"  # a 32-bit encoding capstone does not know
        elif arch == "thumb" and len(buf) > at + 1 and buf[at + 1] >> 3 in (0x1D, 0x1E, 0x1F) \
                and at + 4 <= len(buf):
            size = 4  # a 32-bit Thumb-2 encoding
        data = buf[at:at + size]
        value = int.from_bytes(data, "big" if big else "little")
        if arch == "arm64":
            text = f".inst\t0x{value:08x} ; undefined"
        elif arch.startswith("powerpc"):
            text = f".long 0x{value:x}"
        else:
            text = f"{directive}\t0x{value:0{2 * len(data)}x}"
        out.append(Insn(at, data, text))
        directive = _ENGINES[arch][3]
        at += len(data)
    return out
