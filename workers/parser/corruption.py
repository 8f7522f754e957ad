"""Corruption rules after parsing (spec §10.2, §10.3); the rules met during format selection
(§10.1) are applied in `titles.py` where they arise. The reason strings are the spec's.
Spec: ../shared/reference/syzkaller-report-rules.md.
"""

from __future__ import annotations

import re

from workers.parser.stack import MARKERS, RISCV_MARKER, STACK_START, is_frame_line, maybe_stack_start

# §10.1 reasons (set by titles.py).
EXTRACTED_NO_FRAMES = "extracted no frames"
MATCHED_TITLE_NOT_REPORT = "matched title but not report regexp"
FORMAT_CORRUPTED = "report format is marked as corrupted"
# §10.2 reasons.
TITLE_CORRUPTED = "title matches corrupted regexp"
CALL_TRACE_MISSED = "call trace is missed"
NO_FRAMES = "no frames in a stack trace"
NO_STACK_TRACE = "no stack trace in report"

_TIMESTAMP = re.compile(r"\[ *[0-9]+\.[0-9]+\]", re.A)  # §10.2.1
VM_DISCONNECTED = "serialport: VM disconnected."  # §10.3
_SCAN = 15


def after_parse(raw_title: str, body: str, won: bool, nstc: bool) -> str:
    """§10.2 on the raw title and R (the report body, "\\n"-terminated lines): a reason or ""."""
    if _TIMESTAMP.search(raw_title):
        return TITLE_CORRUPTED
    if not won or nstc:
        return ""
    has_frames = False
    for marker in MARKERS:
        m = _first(marker, body)
        if m is None:
            continue
        # §6.3: a multi-line search lets the newline stand before " backtrace:"; the line of the
        # marker starts at the match (the text before it on its line is not counted).
        lines = body[m.start():].split("\n", _SCAN + 2)
        if len(lines) < 4:
            return CALL_TRACE_MISSED
        found = False
        for line in lines[1:1 + _SCAN]:
            if maybe_stack_start(line) and STACK_START.search(line):
                break
            if "(stack is not available)" in line or is_frame_line(line):
                found = True
                break
        if found:
            has_frames = True
        elif marker is not RISCV_MARKER:
            return NO_FRAMES
    return "" if has_frames else NO_STACK_TRACE


_BACKTRACE = re.compile(r" backtrace(?: \(crc [0-9a-f]*\))?:", re.A)


def _first(marker: re.Pattern[str], body: str):
    """marker.search(body), with `[^k] backtrace` found by its literal part first (a pattern that
    starts with a character class is scanned character by character)."""
    if not marker.pattern.startswith("[^k]"):
        return marker.search(body)
    pos = 0
    while True:
        m = _BACKTRACE.search(body, pos)
        if m is None:
            return None
        if m.start() > 0 and body[m.start() - 1] != "k":
            return marker.search(body, m.start() - 1)
        pos = m.start() + 1
