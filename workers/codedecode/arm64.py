"""objdump's arm64 spelling of capstone's output: decimal offsets, hex immediates, notes."""

from __future__ import annotations

import re

# the SVE names objdump notes for condition codes
_COND_ALIAS = {"eq": "none", "ne": "any", "hs": "nlast", "lo": "ul, last", "mi": "first", "pl": "nfrst",
               "hi": "pmore", "ls": "plast", "ge": "tcont", "lt": "tstop"}
# immediates objdump prints in decimal: shift amounts and bitfield positions
_ARM64_DECIMAL = {"lsl", "lsr", "asr", "ror", "ubfiz", "ubfx", "sbfiz", "sbfx", "bfi", "bfxil", "bfc", "extr", "udf"}
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


def spell(mnemonic: str, op_str: str) -> str:
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
