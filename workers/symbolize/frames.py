"""Which log lines decode_stacktrace.sh rewrites, and how it splits them into words, symbol and module.

This mirrors the script's `handle_line`: the line is split on whitespace, `[<address>]` words are
dropped, a `[` + `6.04]` timestamp pair is re-joined as `[%13s`, a trailing `[module]` (or
`[module buildid]`) word names the module and the word before it is the symbol, else the last word is.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

ADDR_WORD = re.compile(r"\[<([^]]+)>\]")
SYMBOL_ANYWHERE = re.compile(r"[^+ ]+\+0x[0-9a-f]+/0x[0-9a-f]+")
BUILDID_TAIL = re.compile(r"^[0-9a-f]+\]")
MODULE_WORD = re.compile(r"\[([^]]+)\]")
SYMBOL = re.compile(r"^(?P<name>[^+]+?)(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?(?:/(?P<size>0x[0-9a-fA-F]+|\d+))?$")
RAW_ADDRESS = re.compile(r"^(?:0x)?([0-9a-f]{8,16})$")
KERNEL_OFFSET = re.compile(r"Kernel Offset: (0x[0-9a-f]+|disabled)")
PPC_PAIR = re.compile(r"^\s*(?:\[[^]]*\]\s*)?(?:\[\s*[TC]\d+\]\s*)?\[([0-9a-f]{8,16})\] \[([0-9a-f]{8,16})\] ")


# Plain records rather than dataclasses: importing dataclasses (and the inspect/ast it pulls in) is a
# good part of the start-up of a `triage decode` process, which must stay cheaper than llvm-symbolizer.


class SourceLocation(NamedTuple):
    function: str | None
    file: str
    line: int
    discriminator: int = 0


_FRAME_FIELDS = ("line", "text", "function", "offset", "size", "module", "address", "reliable", "locations",
                 "symbol_size", "mismatch", "note")


class DecodedFrame:
    """One rewritten (or rewritable) line: what the symbolizer made of its symbol or address.

    line: 0-based index in the log; text: the line as decode_stacktrace.sh prints it (the original when
    nothing was decoded); address: the looked-up address (vmlinux or module address space); locations:
    innermost (inlined) first; symbol_size: the build's size of `function`; mismatch: the printed size
    differs from the build's (this vmlinux does not match); note: why nothing was decoded."""

    __slots__ = _FRAME_FIELDS

    def __init__(self, line: int, text: str, function: str | None = None, offset: int | None = None,
                 size: int | None = None, module: str | None = None, address: int | None = None,
                 reliable: bool = True, locations: list[SourceLocation] | None = None,
                 symbol_size: int | None = None, mismatch: bool = False, note: str = "") -> None:
        self.line, self.text, self.function, self.offset, self.size = line, text, function, offset, size
        self.module, self.address, self.reliable = module, address, reliable
        self.locations: list[SourceLocation] = locations if locations is not None else []
        self.symbol_size, self.mismatch, self.note = symbol_size, mismatch, note

    def __eq__(self, other: object) -> bool:
        return type(other) is DecodedFrame and all(getattr(self, f) == getattr(other, f) for f in _FRAME_FIELDS)

    def __repr__(self) -> str:
        return "DecodedFrame(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in _FRAME_FIELDS) + ")"

    @property
    def source(self) -> str | None:
        return f"{self.locations[0].file}:{self.locations[0].line}" if self.locations else None

    def to_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in _FRAME_FIELDS}
        out["locations"] = [loc._asdict() for loc in self.locations]
        out["source"] = self.source
        return out


def is_frame_line(line: str) -> bool:
    """The script's test: a `[<address>]` or a `sym+0x1f/0x30` anywhere in the line."""
    return bool(ADDR_WORD.search(line) or SYMBOL_ANYWHERE.search(line))


# `%pS` of an address without a symbol: `RIP: 0010:0xffffffff81234567`, `pc : 0x...`, ` ? 0xffff...`
RAW_FRAME = re.compile(r"^(?:\[[^]]*\]\s*)*(?:(?:RIP: [0-9a-f]{4}:|pc : |lr : )\s*|\s*(?:\? )?)"
                       r"0x[0-9a-f]{8,16}\s*$")


def is_raw_frame_line(line: str) -> bool:
    """A frame line the script leaves alone because it has no symbol, only a raw address."""
    return bool(RAW_FRAME.match(line))


class SplitLine(NamedTuple):
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
        # `(%pS)` prints `(foo+0x0/0x1 [bar])`: the script drops one `)` before the brackets
        module = (kept[last] or "").removesuffix(")").removeprefix("[").removesuffix("]")
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
