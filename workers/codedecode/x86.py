"""x86 disassembly with objdump's instruction boundaries, using capstone.

scripts/decodecode runs objdump from the first byte shown, so the "All code" block is a linear sweep
from there. objdump and capstone agree on valid instructions; where they do not, this follows objdump:
an instruction cut off by the end of the bytes becomes `.byte 0xNN` (or the name of a prefix byte) and
the sweep goes on at the next byte; an invalid opcode is a one-byte `(bad)`; a prefix the instruction
does not use is spelt out in front of it (`rex`, `data16`, `cs`), as objdump does (see x86_att).
"""

from __future__ import annotations

import re
from functools import lru_cache

import capstone

from .insn import Insn, zero_run
from .x86_att import Operands, operands, prefix_name, spell, unused_prefixes


@lru_cache(maxsize=4)
def _engine(bits: int) -> capstone.Cs:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64 if bits == 64 else capstone.CS_MODE_32)
    md.syntax = capstone.CS_OPT_SYNTAX_ATT
    md.detail = True  # ModRM and displacement, to print `0x0(%rax)` and `# 0x...` as objdump does
    return md


def _decode(md: capstone.Cs, data: bytes, at: int):
    for insn in md.disasm(data, at, count=1):
        return insn
    return None


def disassemble(buf: bytes, bits: int = 64, address: int = 0) -> list[Insn]:
    """objdump's linear sweep of `buf` (offsets from `address`)."""
    md = _engine(bits)
    out: list[Insn] = []
    at = 0
    while at < len(buf):
        skip = zero_run(buf, at)
        if skip:
            out.append(Insn(address + at, buf[at:at + skip], None))
            at += skip
            continue
        ignored = _ignored_rex(buf, at, bits)
        if ignored:
            out.append(Insn(address + at, buf[at:at + ignored],
                            " ".join(prefix_name(b, bits) or "" for b in buf[at:at + ignored])))
            at += ignored
            continue
        insn = _decode(md, buf[at:], address + at)
        if insn is not None and insn.mnemonic == "salc":  # undocumented d6: objdump has no name for it
            insn = None
        if insn is None:
            size, text = _undecodable(md, buf, at, bits)
            out.append(Insn(address + at, buf[at:at + size], text))
            at += size
            continue
        fixed = _with_modrm(md, buf, at, insn, bits)
        if fixed is not None:
            size, text = fixed
            out.append(Insn(address + at, buf[at:at + size], text))
            at += size
            continue
        data = bytes(insn.bytes)
        out.append(Insn(address + at, data, spell(insn, bits)))
        at += len(data)
    return out


def _with_modrm(md: capstone.Cs, buf: bytes, at: int, insn: capstone.CsInsn, bits: int) -> tuple[int, str] | None:
    """ud0 (0f ff) and ud1 (0f b9) take a ModRM operand in objdump (the kernel's UBSAN and WARN traps
    use `ud1 0x12(%eax),%eax`); capstone stops after the opcode. Measure the operand with imul (0f af),
    which has the same form."""
    data = bytes(insn.bytes)
    if data[-2:] not in (b"\x0f\xb9", b"\x0f\xff"):
        return None
    name = "ud1" if data[-1] == 0xB9 else "ud0"
    proxy = _decode(md, data[:-1] + b"\xaf" + buf[at + len(data):], at)
    if proxy is None:
        if at + len(data) >= len(buf):  # the ModRM byte is past the end: objdump gives up on byte 1
            return 1, prefix_name(buf[at], bits) or f".byte 0x{buf[at]:x}"
        return None
    ops = operands(proxy.op_str)
    prefixes = unused_prefixes(bytes(proxy.bytes), "imul", proxy.op_str, bits, Operands(proxy))
    return proxy.size, " ".join(prefixes + [f"{name:<6} {ops}"])


def _ignored_rex(buf: bytes, at: int, bits: int) -> int:
    """objdump ignores a REX prefix followed by another prefix: it prints the prefixes up to and
    including that REX as one pseudo-instruction. Returns their length, 0 when this does not apply."""
    i = at
    while i < len(buf) - 1 and prefix_name(buf[i], bits):
        if bits == 64 and 0x40 <= buf[i] <= 0x4F and prefix_name(buf[i + 1], bits):
            return i + 1 - at
        i += 1
    return 0


# one-byte opcodes that take a ModRM byte (objdump reads it even when the opcode turns out invalid)
_MODRM_OPS = frozenset([o for o in range(0x40) if o & 7 < 4] + [0x62, 0x63, 0x69, 0x6B] + [*range(0x80, 0x90)]
                       + [0xC0, 0xC1, 0xC6, 0xC7] + [*range(0xD0, 0xD4)] + [*range(0xD8, 0xE0)]
                       + [0xF6, 0xF7, 0xFE, 0xFF])


# two-byte opcodes whose ModRM reg field selects the instruction (objdump reads it before any (bad))
_GROUPS_0F = frozenset([0x00, 0x01, 0x0D, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x71, 0x72, 0x73,
                        0xAE, 0xB9, 0xBA, 0xC7, 0xFF])


def _evex_bad_size(p0: int, p1: int) -> int:
    """How many bytes objdump's `(bad)` covers for an EVEX prefix capstone rejects."""
    if p0 & 8 or p0 & 7 in (0, 4, 7):
        return 1
    return 5 if p1 & 4 else 2


def _undecodable(md: capstone.Cs, buf: bytes, at: int, bits: int) -> tuple[int, str]:
    """objdump's (length, text) for bytes at `at` that capstone does not decode."""
    i, names = at, []
    while i < len(buf) - 1 and prefix_name(buf[i], bits):
        names.append(prefix_name(buf[i], bits) or "")
        i += 1
    rest = buf[i:]
    # objdump decodes what capstone rejects: a lock prefix on any instruction, segment register 6 or 7
    locks = buf[at:i].count(0xF0)
    if locks:
        insn = _decode(md, buf[at:i].replace(b"\xf0", b"") + rest, at + locks)
        if insn is not None and at + insn.size + locks <= len(buf):
            return insn.size + locks, spell(insn, bits, ["lock"] * locks)
    if rest[:5] == b"\xc4\xe2\x78\x49\xc0":  # AMX, unknown to capstone 5 (the kernel's fpu code has it)
        return i + 5 - at, " ".join(names + ["tilerelease"])
    probe = buf[at:i].replace(b"\xf0", b"") + rest
    if rest[:1] in (b"\x8c", b"\x8e") and len(rest) > 1 and (rest[1] >> 3) & 7 >= 6:
        probe = buf[at:i] + rest[:1] + bytes([rest[1] & 0xC7]) + rest[2:]
        insn = _decode(md, probe, at)
        if insn is not None:
            return insn.size, re.sub(r"%es\b", "%?", spell(insn, bits))
    padded = _decode(md, probe + bytes(15), at)
    if padded is not None and padded.size > len(probe):  # cut off by the end of the bytes
        return 1, prefix_name(buf[at], bits) or f".byte 0x{buf[at]:x}"
    # an invalid opcode: objdump names the prefixes and eats the opcode bytes (x87: and the operand)
    op = rest[0]
    if op == 0x0F and rest[1:2] == b"\x0f":  # 3DNow!: objdump gives up on the first byte
        size = 1
    elif op == 0x0F:
        size = 3 if rest[1:2] in (b"\x38", b"\x3a") else 2
        if len(rest) == 2 and rest[1] in _GROUPS_0F:  # the ModRM byte objdump needs is missing
            size = 3
    elif op in (0xC4, 0xC5) and (bits == 64 or rest[1:2] >= b"\xc0"):
        vex_map = 1 if op == 0xC5 else (rest[1] & 0x1F if len(rest) > 1 else 0)
        whole = 4 if op == 0xC4 else 3
        # a known map: objdump reads the VEX prefix, opcode and ModRM before giving up
        size = (whole if len(rest) > whole else whole + 1) if vex_map in (1, 2, 3) else 1 if len(rest) > 3 else 5
    elif op == 0x62 and bits == 64:  # EVEX: objdump stops early on a bad P0 or P1
        size = 5 if len(rest) < 3 else _evex_bad_size(rest[1], rest[2])
    elif 0xD8 <= op <= 0xDF and len(rest) > 1:
        # the length of the same addressing form with a valid opcode extension
        probe = _decode(md, rest[:1] + bytes([rest[1] & 0xC7]) + rest[2:] + bytes(15), 0)
        size = probe.size if probe is not None else 2
        if probe is not None and rest[1] >> 6 != 3 and i + size <= len(buf):  # objdump shows the operand
            return i + size - at, f"{' '.join(names + ['(bad)']):<6} {operands(probe.op_str)}"
    elif op == 0x8F and len(rest) > 1 and rest[1] & 0x1F >= 8:  # AMD XOP (a known map) or nothing
        size = (4 if len(rest) >= 5 else 5) if rest[1] & 0x1F in (8, 9, 10) else (1 if len(rest) >= 3 else 3)
    elif op in _MODRM_OPS:  # objdump reads the ModRM and SIB bytes (not the displacement) first
        needs_sib = len(rest) > 1 and rest[1] >> 6 != 3 and rest[1] & 7 == 4 and bits in (32, 64)
        size = 1 if len(rest) > 1 + needs_sib else 3
    else:
        size = 1
    if i + size > len(buf):  # objdump ran out of bytes first
        return 1, prefix_name(buf[at], bits) or f".byte 0x{buf[at]:x}"
    if op in (0xC4, 0xC5, 0x62) and any(n.startswith("rex") for n in names):
        names = []  # objdump does not name the prefixes of a VEX/EVEX after REX
    return i + size - at, " ".join(names + ["(bad)"])
