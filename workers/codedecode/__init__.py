"""Disassembly of `Code:` lines in scripts/decodecode's layout, with capstone instead of objdump.

    decode_code_line("[ 6.04] Code: 0f 1f 00 <0f> 0b 90")  -> "All code\\n========\\n   0:\\t0f 1f 00 ..."
    decode_all(log_text)                                     -> [(line_index, block), ...]

The block is what decodecode prints after echoing the Code: line: "All code" (the whole sweep from the
first byte shown, the instruction holding the marked byte starred and tagged `<-- trapping instruction`),
a blank line, then "Code starting with the faulting instruction". Unlike decodecode, every Code: line of
a log is decoded, and the trapping instruction is the marked one on every arch (decodecode stars the
first instruction on powerpc).

Like decodecode (checked on the lab logs, EXEC_STACK among them), "All code" is not re-synchronised on
the marker: when the sweep from the first byte runs across the marked byte, the starred instruction is
the one holding it, and "Code starting with the faulting instruction" is the sweep from the marker.
On riscv, compressed instructions are decoded (binutils 2.40's objdump shows them as `.2byte` data
because decodecode's object carries no RVC flag).
"""

from __future__ import annotations

import re

import capstone

from workers.report import log_lines

from . import other, x86
from .codeline import CodeLine, arch_hint, guess_arch, normalize_arch, parse_code_line
from .insn import Insn
from .layout import decodecode_block, trap_index

__all__ = ["CodeLine", "arch_hint", "decode_all", "decode_code_line", "disassemble", "parse_code_line"]

# decodecode appends the lines after a Code: line that hold nothing but hex digits and markers
_MAX_CONTINUATION = 8
_CONTINUATION = re.compile(r"^\s*[0-9a-fA-F<>][0-9a-fA-F<>\s]*$")


def code_bytes(code: CodeLine, arch: str) -> bytes:
    """The bytes in memory order: multi-byte units are values in the arch's byte order."""
    order = "big" if arch in other.BIG_ENDIAN else "little"
    return b"".join(int(u, 16).to_bytes(code.width, order) for u in code.units)


def disassemble(buf: bytes, arch: str, width: int = 1) -> list[Insn]:
    """objdump-like sweep of `buf` for a canonical `arch` (see codeline.ARCH_ALIASES)."""
    if arch in ("x86_64", "i386"):
        return x86.disassemble(buf, 64 if arch == "x86_64" else 32)
    if arch == "arm" and width == 2:
        return other.disassemble(buf, "thumb")
    return other.disassemble(buf, arch)


def _resolve_arch(code: CodeLine, arch: str | None) -> str | None:
    if arch is None:
        return guess_arch(code)
    canonical = normalize_arch(arch)
    if canonical is None:
        return None
    return guess_arch(code, canonical)


def decode_code_line(line: str, arch: str | None = None) -> str | None:
    """decodecode's block for the Code: line `line` (timestamp prefix allowed), None when it holds no
    code bytes or `arch` is not one we can disassemble. `arch` None: guessed from the line's shape."""
    code = parse_code_line(line)
    if code is None:
        return None
    name = _resolve_arch(code, arch)
    if name is None:
        return None
    layout = "thumb" if name == "arm" and code.width == 2 else name
    try:
        buf = code_bytes(code, name)
        start = code.marker_offset
        if start is None:
            return decodecode_block(None, None, disassemble(buf, name, code.width), layout)
        all_code = disassemble(buf, name, code.width)
        from_fault = disassemble(buf[start:], name, code.width)
        return decodecode_block(all_code, trap_index(all_code, start), from_fault, layout)
    except capstone.CsError:
        return None


def decode_all(text: str, arch: str | None = None) -> list[tuple[int, str]]:
    """(0-based line index, block) for every decodable Code: line of a log, in order.

    The arch is `arch` if given, else what the log's register dumps tell (RIP:, pstate:, NIP:, epc :),
    else the shape of each Code: line. Hex-only lines right after a Code: line continue it, as in
    decodecode."""
    lines = log_lines(text)
    hint = normalize_arch(arch) if arch else arch_hint(text)
    if arch and hint is None:
        return []
    found = []
    for i, line in enumerate(lines):
        if "Code:" not in line:
            continue
        joined = line.rstrip()
        for more in lines[i + 1:i + 1 + _MAX_CONTINUATION]:
            if not _CONTINUATION.match(more) or "Code:" in more:
                break
            joined += " " + more.strip()
        block = decode_code_line(joined, hint)
        if block is not None:
            found.append((i, block))
    return found
