"""objdump -M no-aliases spelling (what decodecode asks for on riscv) of capstone's output."""

from __future__ import annotations

import re

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


def spell(mnemonic: str, op_str: str, address: int) -> str:
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
