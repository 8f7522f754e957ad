"""Which log lines decode_stacktrace.sh rewrites, and how it splits them into words, symbol and module.

This mirrors the script's `handle_line`: the line is split on whitespace, `[<address>]` words are
dropped, a `[` + `6.04]` timestamp pair is re-joined as `[%13s`, a trailing `[module]` (or
`[module buildid]`) word names the module and the word before it is the symbol, else the last word is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

ADDR_WORD = re.compile(r"\[<([^]]+)>\]")
SYMBOL_ANYWHERE = re.compile(r"[^+ ]+\+0x[0-9a-f]+/0x[0-9a-f]+")
BUILDID_TAIL = re.compile(r"^[0-9a-f]+\]")
MODULE_WORD = re.compile(r"\[([^]]+)\]")
SYMBOL = re.compile(r"^(?P<name>[^+]+?)(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?(?:/(?P<size>0x[0-9a-fA-F]+|\d+))?$")
RAW_ADDRESS = re.compile(r"^(?:0x)?([0-9a-f]{8,16})$")
KERNEL_OFFSET = re.compile(r"Kernel Offset: (0x[0-9a-f]+|disabled)")
PPC_PAIR = re.compile(r"^\s*(?:\[[^]]*\]\s*)?(?:\[\s*[TC]\d+\]\s*)?\[([0-9a-f]{8,16})\] \[([0-9a-f]{8,16})\] ")


@dataclass
class SourceLocation:
    function: str | None
    file: str
    line: int
    discriminator: int = 0


@dataclass
class DecodedFrame:
    """One rewritten (or rewritable) line: what the symbolizer made of its symbol or address."""

    line: int  # 0-based index in the log
    text: str  # the line as decode_stacktrace.sh prints it (the original when nothing was decoded)
    function: str | None = None
    offset: int | None = None
    size: int | None = None
    module: str | None = None
    address: int | None = None  # the looked-up address (in the vmlinux or module's address space)
    reliable: bool = True
    locations: list[SourceLocation] = field(default_factory=list)  # innermost (inlined) first
    symbol_size: int | None = None  # the build's size of `function`
    mismatch: bool = False  # printed size differs from the build's: this vmlinux does not match
    note: str = ""  # why nothing was decoded ("no such symbol", "module lkdtm not found", ...)

    @property
    def source(self) -> str | None:
        return f"{self.locations[0].file}:{self.locations[0].line}" if self.locations else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["source"] = self.source
        return out


def is_frame_line(line: str) -> bool:
    """The script's test: a `[<address>]` or a `sym+0x1f/0x30` anywhere in the line."""
    return bool(ADDR_WORD.search(line) or SYMBOL_ANYWHERE.search(line))


@dataclass
class SplitLine:
    words: list[str]  # the words printed before the symbol
    symbol: str
    module: str  # "" when none
    buildid: str = ""
    unreliable: bool = False  # powerpc's trailing "(unreliable)", kept after the decoded symbol
    address: int | None = None  # the [<address>] word, or the second [address] of a powerpc pair


def split_line(line: str) -> SplitLine:
    words = line.split()
    address = None
    m = PPC_PAIR.match(line)
    if m:
        address = int(m.group(2), 16)
    kept: list[str | None] = list(words)
    for i, w in enumerate(words):
        am = ADDR_WORD.search(w)
        if am:
            kept[i] = None
            if address is None and re.fullmatch(r"[0-9a-fA-F]{1,16}", am.group(1)):
                address = int(am.group(1), 16)
            continue
        if w == "[" and i + 1 < len(words) and words[i + 1].endswith("]"):
            kept[i] = None
            kept[i + 1] = f"[{words[i + 1]:>13}"
    last = len(kept) - 1
    unreliable = False
    if last >= 1 and kept[last] == "(unreliable)":  # powerpc: not a symbol (the script takes it for one)
        unreliable = True
        kept[last] = None
        last -= 1
    buildid = ""
    if last >= 1 and kept[last] is not None and BUILDID_TAIL.match(kept[last] or ""):
        kept[last - 1] = f"{kept[last - 1]} {kept[last]}"
        kept[last] = None
        last -= 1
    module = ""
    symbol = ""
    if last >= 0 and kept[last] is not None and MODULE_WORD.search(kept[last] or ""):
        module = (kept[last] or "").removeprefix("[").removesuffix("]")
        if " " in module:
            module, buildid = module.split(" ", 1)
        if last >= 1:
            symbol = kept[last - 1] or ""
            kept[last - 1] = None
    elif last >= 0:
        symbol = kept[last] or ""
    if last >= 0:
        kept[last] = None
    return SplitLine([w for w in kept if w is not None], symbol, module, buildid, unreliable, address)


def parse_symbol(symbol: str) -> tuple[str, str, int | None, int | None] | None:
    """(segment, name, offset, size) of `0010:func+0x1f/0x30` (parentheses of `(%pS)` removed)."""
    symbol = symbol.removeprefix("(").removesuffix(")")
    segment = ""
    if ":" in symbol:
        seg, symbol = symbol.split(":", 1)
        segment = seg + ":"
    m = SYMBOL.match(symbol)
    if not m:
        return None
    off = m.group("off")
    size = m.group("size")
    return (segment, m.group("name"), int(off, 0) if off else None, int(size, 0) if size else None)


def kernel_offset(text: str) -> int | None:
    """The KASLR offset printed by `Kernel Offset: 0x2a000000 from ...` (0 for `disabled`)."""
    m = KERNEL_OFFSET.search(text)
    if not m:
        return None
    return 0 if m.group(1) == "disabled" else int(m.group(1), 16)
