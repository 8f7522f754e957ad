"""The crash page's Frames table: the parser's frames joined with the symbolizer's, as the kernel prints them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# KASAN names the stack frame (or the global variable) a bad address lies in on a line printed like a
# frame (`lkdtm_REPORT_STACK_CANARY+0x0/0x90 [lkdtm]`), after "... and is located at offset 40 in
# frame:" (before 5.x: "addr ... is located in stack of task sh/51 at offset 40 in frame:") or "The
# buggy address belongs to the variable:". The parser keeps it among the report's frames (titles and
# stat keys are made and scored with them as they are); the page's table of the stack leaves it out.
NAMES_A_PLACE = re.compile(r"(?:\bin frame|belongs to the variable):\s*$")


@dataclass
class FrameRow:
    index: int
    symbol: str  # "vfs_write+0x1f/0x30" as the kernel prints it, or the raw address
    module: str
    location: str  # "fs/read_write.c:681" (the innermost, inlined, location when there is one)
    inlined_by: list[str] = field(default_factory=list)  # "ksys_write fs/read_write.c:734", outwards
    reliable: bool = True
    section: str = "task"
    role: str = "frame"
    guilty: bool = False
    log_line: int = 0  # 1-based, for #L links
    note: str = ""


def symbol_text(function: str | None, offset: int | None, size: int | None, address: int | None) -> str:
    if not function:
        return f"{address:#x}" if address is not None else ""
    text = function
    if offset is not None:
        text += f"+{offset:#x}"
        if size is not None:
            text += f"/{size:#x}"
    return text


def names_a_place(frame: dict[str, Any], lines: Sequence[str], first_line: int) -> bool:
    """The frame is KASAN's "in frame:" / "belongs to the variable:" line, not a line of a stack
    (`lines`: the report's lines, the first being log line `first_line`, 0-based)."""
    before = (frame.get("line") or 0) - 1 - first_line
    return 0 <= before < len(lines) and NAMES_A_PLACE.search(lines[before]) is not None


def frame_rows(report: dict[str, Any], decoded: dict[str, Any] | None, lines: Sequence[str] = (),
               first_line: int = 0) -> list[FrameRow]:
    """One row per printed frame with a function or an address; decoded file:line and inline chain.

    With the report's `lines` (the first being log line `first_line`), the symbol KASAN prints for the
    frame or variable a bad address lies in is left out: it is no line of a stack."""
    by_line = {f.get("line"): f for f in (decoded or {}).get("frames") or ()}
    rows = []
    for i, frame in enumerate(report.get("frames") or ()):
        if i != report.get("guilty") and names_a_place(frame, lines, first_line):
            continue
        dec = by_line.get(frame.get("line")) or {}
        function = frame.get("function") or dec.get("function")
        symbol = symbol_text(function, frame.get("offset"), frame.get("size"), frame.get("address"))
        if not symbol:
            continue  # a frame line with neither symbol nor address says nothing
        locations = dec.get("locations") or []
        location = (f"{locations[0]['file']}:{locations[0]['line']}" if locations
                    else frame.get("source") or "")
        inlined = [f"{loc.get('function') or '?'} {loc['file']}:{loc['line']}" for loc in locations[1:]]
        rows.append(FrameRow(index=i, symbol=symbol, module=frame.get("module") or dec.get("module") or "",
                             location=location, inlined_by=inlined, reliable=frame.get("reliable", True),
                             section=frame.get("section") or "task", role=frame.get("role") or "frame",
                             guilty=i == report.get("guilty"), log_line=(frame.get("line") or 0) + 1,
                             note=dec.get("note") or ""))
    return rows
