"""Disassembly of the fixed- and variable-width RISC arches (arm64, arm, powerpc, riscv, s390) with capstone.

objdump walks the bytes one instruction at a time and prints what it cannot decode as data (`.long`,
`.inst`, `.short`) of the arch's unit size, then goes on after it; this does the same.
"""

from __future__ import annotations

import re
from functools import lru_cache

import capstone

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


# special registers objdump names in mfspr/mtspr (number -> name, and whether mt has a name too)
_SPRS = {1: ("xer", True), 8: ("lr", True), 9: ("ctr", True), 18: ("dsisr", True), 19: ("dar", True),
         22: ("dec", True), 26: ("srr0", True), 27: ("srr1", True), 304: ("hsprg0", True),
         305: ("hsprg1", True), 314: ("hsrr0", True), 315: ("hsrr1", True), 287: ("pvr", False),
         268: ("tb", False), 269: ("tbu", False), 256: ("vrsave", True)}
_SPRG = {272: 0, 273: 1, 274: 2, 275: 3}


def _ppc(mnemonic: str, op_str: str) -> tuple[str, str]:
    """objdump's powerpc spelling: immediates and displacements in decimal (branch targets hex), and
    the extended mnemonics objdump prefers (mr., not, clrrdi, srdi, mtsrr0, hwsync, ...)."""
    if mnemonic.endswith(".") and mnemonic not in ("or.",):  # the record forms take the same aliases
        name, ops = _ppc(mnemonic[:-1], op_str)
        return name + ".", ops
    ops = op_str.replace(", ", ",")
    if mnemonic.startswith("b"):
        ops = re.sub(r"(^|,)(\d+)$", lambda m: f"{m.group(1)}0x{int(m.group(2)):x}", ops)
    else:
        ops = re.sub(r"(-?)0x([0-9a-f]+)", lambda m: f"{m.group(1)}{int(m.group(2), 16)}", ops)
    parts = ops.split(",")
    nums = [int(p) if re.fullmatch(r"-?\d+", p) else None for p in parts]
    if mnemonic == "sync" and not ops:
        return "hwsync", ""
    if mnemonic in ("or.", "nor") and len(parts) == 3 and parts[1] == parts[2]:
        return ("mr." if mnemonic == "or." else "not"), ",".join(parts[:2])
    if mnemonic in ("mfspr", "mtspr") and len(parts) == 2:
        spr = nums[1] if mnemonic == "mfspr" else nums[0]
        reg = parts[0] if mnemonic == "mfspr" else parts[1]
        if spr in _SPRS and (mnemonic == "mfspr" or _SPRS[spr][1]):
            return mnemonic[:2] + _SPRS[spr][0], reg
        if spr in _SPRG:
            return (mnemonic[:2] + "sprg",
                    f"{reg},{_SPRG[spr]}" if mnemonic == "mfspr" else f"{_SPRG[spr]},{reg}")
    if mnemonic in ("rldicl", "rldicr", "rlwinm") and None not in nums[2:] and len(parts) >= 4:
        sh, mb = nums[2], nums[3]
        if mnemonic == "rldicl":
            if mb == 0:
                return "rotldi", ",".join(parts[:3])
            if sh == 0:
                return "clrldi", ",".join(parts[:2] + [parts[3]])
            if sh + mb == 64:
                return "srdi", ",".join(parts[:2] + [parts[3]])
        elif mnemonic == "rldicr":
            if sh == 0:
                return "clrrdi", ",".join(parts[:2] + [str(63 - mb)])
            if sh + mb == 63:
                return "sldi", ",".join(parts[:3])
        elif len(parts) == 5 and sh == 0 and mb == 0:
            return "clrrwi", ",".join(parts[:2] + [str(31 - nums[4])])
    return mnemonic, ops


# the SVE names objdump notes for condition codes
_COND_ALIAS = {"eq": "none", "ne": "any", "hs": "nlast", "lo": "ul, last", "mi": "first", "pl": "nfrst",
               "hi": "pmore", "ls": "plast", "ge": "tcont", "lt": "tstop"}
# immediates objdump prints in decimal: shift amounts and bitfield positions
_ARM64_DECIMAL = {"lsl", "lsr", "asr", "ror", "ubfiz", "ubfx", "sbfiz", "sbfx", "bfi", "bfxil", "bfc", "extr"}
_COND_NAME = {"hs": "cs", "lo": "cc"}  # objdump's names for capstone's
_SHIFT_WORDS = {"lsl", "lsr", "asr", "ror", "msl", "uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"}


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _arm64_imm(mnemonic: str, m: re.Match) -> str:
    word, value = m.group(1) or "", int(m.group(2), 0)
    vector = re.search(r"\bv\d+\.", m.string) is not None  # SIMD immediates print in decimal
    if word.strip() in _SHIFT_WORDS or mnemonic in _ARM64_DECIMAL or vector:
        return f"{word}#{value}"
    return f"{word}#0x{value:x}"


_ARM64_BRANCH = re.compile(r"^(b|bl|b\.\w+|cbz|cbnz|tbz|tbnz|adr|adrp)$")


def _arm64(mnemonic: str, op_str: str) -> str:
    """objdump's arm64 operands: decimal offsets in memory operands, hex immediates, bare branch
    targets, and the `// #n` note after a mov of an immediate."""
    ops = op_str
    if _ARM64_BRANCH.match(mnemonic):
        ops = re.sub(r"#(0x[0-9a-f]+|\d+)$", lambda m: f"0x{int(m.group(1), 0):x}", ops)
        ops = re.sub(r"#0x([0-9a-f]+),", lambda m: f"#{int(m.group(1), 16)},", ops)  # tbz bit number
        cond = mnemonic[2:] if mnemonic.startswith("b.") else ""
        if cond in _COND_ALIAS:
            name = _COND_NAME.get(cond, cond)
            alias = ", ".join(f"b.{a}" for a in ([cond] if name != cond else []) + _COND_ALIAS[cond].split(", "))
            return f"b.{name}\t{ops}  // {alias}"
        return f"{mnemonic}\t{ops}"
    # offsets inside [...] and post-index offsets after ], in decimal (capstone wraps negative ones)
    ops = re.sub(r"(\[[^\]]*#|\], #)(-?)(0x[0-9a-f]+|\d+)",
                 lambda m: f"{m.group(1)}{m.group(2)}{_signed64(int(m.group(3), 0))}", ops)
    # other immediates in hex, except shift amounts and floats
    if "[" not in ops:
        ops = re.sub(r"(\b\w+ )?#(0x[0-9a-f]+|\d+)\b(?!\.)", lambda m: _arm64_imm(mnemonic, m), ops)
    note = re.fullmatch(r"([wx])\d+, #(-?)(0x[0-9a-f]+|\d+)", ops) if mnemonic == "mov" else None
    if note:
        value = int(note.group(3), 0) * (-1 if note.group(2) else 1)
        width = 32 if note.group(1) == "w" else 64
        ops = f"{ops.split('#')[0]}#0x{value & ((1 << width) - 1):x}"
        reg, imm = ops.split(", ", 1)
        return f"{mnemonic}\t{reg}, {imm:<23}\t// #{value}"
    cond = ops.rsplit(", ", 1)[-1]
    if cond in _COND_ALIAS and mnemonic.startswith(("cs", "cc", "cinc", "cinv", "cneg", "fcs", "fcc")):
        name = _COND_NAME.get(cond, cond)
        alias = f"{cond}, {_COND_ALIAS[cond]}" if name != cond else _COND_ALIAS[cond]
        ops = f"{ops[:len(ops) - len(cond)]}{name}\t// {name} = {alias}"
    return f"{mnemonic}\t{ops}" if ops else mnemonic


_RISCV_BRANCHES = {"beq", "bne", "blt", "bge", "bltu", "bgeu", "jal", "c.j", "c.jal", "c.beqz", "c.bnez"}

# capstone's riscv aliases, spelt out as objdump -M no-aliases (what decodecode asks for) prints them:
# alias -> (mnemonic, operand template over the alias operands a, b, c)
_RISCV_ALIASES = {
    ("j", 1): ("jal", "zero,{a}"), ("jal", 1): ("jal", "ra,{a}"), ("jr", 1): ("jalr", "zero,0({a})"),
    ("jalr", 1): ("jalr", "ra,0({a})"), ("ret", 0): ("jalr", "zero,0(ra)"), ("nop", 0): ("addi", "zero,zero,0"),
    ("mv", 2): ("addi", "{a},{b},0"), ("li", 2): ("addi", "{a},zero,{b}"), ("not", 2): ("xori", "{a},{b},-1"),
    ("neg", 2): ("sub", "{a},zero,{b}"), ("negw", 2): ("subw", "{a},zero,{b}"), ("sext.w", 2): ("addiw", "{a},{b},0"),
    ("seqz", 2): ("sltiu", "{a},{b},1"), ("snez", 2): ("sltu", "{a},zero,{b}"), ("sltz", 2): ("slt", "{a},{b},zero"),
    ("sgtz", 2): ("slt", "{a},zero,{b}"), ("beqz", 2): ("beq", "{a},zero,{b}"), ("bnez", 2): ("bne", "{a},zero,{b}"),
    ("bgez", 2): ("bge", "{a},zero,{b}"), ("bltz", 2): ("blt", "{a},zero,{b}"), ("blez", 2): ("bge", "zero,{a},{b}"),
    ("bgtz", 2): ("blt", "zero,{a},{b}"), ("csrr", 2): ("csrrs", "{a},{b},zero"), ("csrw", 2): ("csrrw", "zero,{a},{b}"),
    ("csrs", 2): ("csrrs", "zero,{a},{b}"), ("csrc", 2): ("csrrc", "zero,{a},{b}"),
    ("csrwi", 2): ("csrrwi", "zero,{a},{b}"), ("csrsi", 2): ("csrrsi", "zero,{a},{b}"),
    ("csrci", 2): ("csrrci", "zero,{a},{b}"), ("fence", 0): ("fence", "iorw,iorw"),
}


_RISCV_HEX = {"lui", "auipc", "slli", "srli", "srai", "slliw", "srliw", "sraiw"}


def _riscv(mnemonic: str, op_str: str, address: int) -> str:
    """objdump -M no-aliases: aliases spelt out, decimal immediates, no space after commas, branch
    targets as addresses."""
    if mnemonic.removeprefix("c.") in _RISCV_HEX:  # upper immediates and shift amounts stay hex
        ops = re.sub(r"(?<![\w.])(\d+)$", lambda m: f"0x{int(m.group(1)):x}", op_str)
    else:
        ops = re.sub(r"(?<![\w.])(-?)0x([0-9a-f]+)", lambda m: f"{m.group(1)}{int(m.group(2), 16)}", op_str)
    parts = [p for p in ops.split(", ") if p]
    alias = _RISCV_ALIASES.get((mnemonic, len(parts)))
    if alias:
        mnemonic, template = alias
        parts = template.format(**dict(zip("abc", parts, strict=False))).split(",")
    if mnemonic in _RISCV_BRANCHES and parts and re.fullmatch(r"-?\d+", parts[-1]):
        parts[-1] = f"0x{(address + int(parts[-1])) & (2**64 - 1):x}"
    ops = ",".join(parts)
    return f"{mnemonic}\t{ops}" if ops else mnemonic


def _text(arch: str, mnemonic: str, op_str: str, address: int = 0) -> str:
    if arch.startswith("powerpc"):
        mnemonic, ops = _ppc(mnemonic, op_str)
        return f"{mnemonic:<7} {ops}" if ops else mnemonic
    if arch == "s390":
        return f"{mnemonic:<7} {op_str.replace(', ', ',')}" if op_str else mnemonic
    if arch == "arm64":
        return _arm64(mnemonic, op_str)
    if arch.startswith("riscv"):
        return _riscv(mnemonic, op_str, address)
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
