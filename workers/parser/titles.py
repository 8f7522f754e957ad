"""syzbot-compatible titles: pick the report format, find the guilty frame, make the title stable.

`describe(lines, start, end, oops)` runs the formats of one report kind over the report's lines (see
`kinds.py`) the way syzkaller does: the format whose title regex matches earliest wins, its `report`
regex supplies the title's words, and its stack recipe supplies the guilty function (after skipping
generic frames, see `guilty.py`). No frame found means the report is cut or garbled: the title says
"corrupted" and the report is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workers.parser import guilty
from workers.parser.frames import title_name
from workers.parser.kinds import CALL, RIP, STACK, STACK_START, Fmt, Oops

# Lines that break a stack apart (a second report interleaved), after syzkaller's corruptedLines.
_CORRUPTED_LINES = re.compile(r"^\s*ret_from_fork\+0x[0-9a-f]+/0x[0-9a-f]+\s+\S+\s+\S")
# Frame regexes of syzkaller: `[<pc>] [<pc>] func+` or `func.`; arm `(func) from ... (caller+`.
_SYZ_FRAME = re.compile(r"^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\]\s+){0,2}\.?([a-zA-Z_][a-zA-Z0-9_]*)(?:\.|\+)")
_ARM_FRAME = re.compile(
    r"^\s*\[<?(?:0x)?[0-9a-f]+>?\]\s+\(([a-zA-Z0-9_.]+)\)\s+from\s+\[<?(?:0x)?[0-9a-f]+>?\]\s+\(\.?([a-zA-Z0-9_]+)(?:\.|\+)"
)
# decode_stacktrace.sh output: `func (fs/read_write.c:681) module`.
_DECODED_FRAME = re.compile(r"^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\]\s+){0,2}\.?([a-zA-Z_][a-zA-Z0-9_]*)(?:\.[\w.]+)? \([^\s()]+:\d+")
_ARM_FRAME_NEW = re.compile(r"^\s*\.?([a-zA-Z0-9_]+)(?:\.[\w.]+)?\s+from\s+\.?([a-zA-Z0-9_]+)(?:\.|\+)")

_ADDR = re.compile(r"\b(?:0x[0-9a-f]+|[0-9a-f]{8,})\b")
_SRCLINE = re.compile(r"\b([a-zA-Z0-9_\-/.]+\.(?:c|h|S|s|rs)):[0-9]+")
_NUM = re.compile(r"\b[0-9]+\b")
_OFFSETS = re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+")
MAX_TITLE = 120


@dataclass
class Description:
    title: str
    fmt: Fmt | None
    alt_titles: list[str] = field(default_factory=list)
    corrupted: bool = False
    corrupted_reason: str = ""
    guilty_line: int | None = None  # index in the normalized lines of the line naming the frame
    guilty_name: str | None = None  # the function the title names


def sanitize(title: str) -> str:
    """Numbers and addresses out of a title so that reruns of the same bug get the same one."""
    title = title.split("\n", 1)[0].strip()
    title = _OFFSETS.sub("", title)
    title = _ADDR.sub("ADDR", title)
    title = _SRCLINE.sub(r"\1:LINE", title)
    title = _NUM.sub("NUM", title)
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE]
    return title


def _stack_start(line: str) -> bool:
    """Does `line` open another stack (Call Trace:, Allocated by task 1:, backtrace:, ...)?"""
    return (
        "race" in line or "lloc" in line or "reed" in line or "acktrace" in line or "Uninit" in line
        or "Memory state" in line or "work creation" in line
    ) and STACK_START.search(line) is not None


def _frame_names(line: str) -> list[str]:
    if ") from " in line:
        m = _ARM_FRAME.match(line)
        if m:
            return [m.group(1).split(".")[0], m.group(2)]
    m = _SYZ_FRAME.match(line)
    if m:
        return [m.group(1)]
    if " from " in line:
        m = _ARM_FRAME_NEW.match(line)
        if m:
            return [m.group(1), m.group(2)]
    if " (" in line:
        m = _DECODED_FRAME.match(line)
        if m:
            return [m.group(1)]
    return []


_MANGLED = re.compile(r"_ZN?((?:\d+[A-Za-z_]\w*?)+)(?:E|[a-z]*$)")


def demangle(name: str) -> str:
    """`_Z8fakeNameiii` -> `fakeName`, `_ZN2ns4funcEv` -> `ns::func` (C++ and Rust v0-less symbols)."""
    if not name.startswith("_Z"):
        return name
    body = name[3:] if name.startswith("_ZN") else name[2:]
    parts = []
    while body and body[0].isdigit():
        k = 0
        while k < len(body) and body[k].isdigit():
            k += 1
        length = int(body[:k])
        if length <= 0 or k + length > len(body):
            break
        parts.append(body[k:k + length])
        body = body[k + length:]
    return "::".join(parts) if parts else name


def _append(frames: list[tuple[str, int]], names: list[str], idx: int, skip: re.Pattern[str] | None) -> None:
    for name in names:
        if not name:
            continue
        name = guilty.strip_syscall_prefix(demangle(name))
        if guilty.is_generic(name, skip):
            continue
        frames.append((name, idx))


def _extract(fmt: Fmt, parts: list, frames_src: list[str], base: int) -> tuple[tuple[str, int] | None, bool]:
    """Run one stack recipe over lines; (guilty (name, line), ok)."""
    frames: list[tuple[str, int]] = []
    skip = fmt.skip_re
    i, n = 0, len(frames_src)
    part_idx = 0
    stacks = 0
    ok = True
    pick = {"first": guilty.first_frame, "stall": guilty.stall_frame, "hang": guilty.hang_frame}[fmt.extractor]
    while True:
        if part_idx == len(parts) or (parts[part_idx] is STACK and stacks > 0):
            found = pick(frames)
            if found:
                return (found[0], found[1] + base), ok
            if part_idx == len(parts):
                return None, ok
        part = parts[part_idx]
        if part is STACK:
            stacks += 1
            last = part_idx == len(parts) - 1
            while i < n:
                if last and frames and fmt.extractor == "first":
                    # The title's frame is known: the rest of the stack only decides `ok`.
                    i, ok = _rest_of_stack(frames_src, i, ok)
                    break
                ln = frames_src[i]
                i += 1
                if _stack_start(ln):
                    break
                if part_idx != len(parts) - 1:
                    m = parts[part_idx + 1].search(ln)
                    if m:
                        _append(frames, [g for g in m.groups() if g], i - 1, skip)
                        part_idx += 1
                        break
                if "ret_from_fork" in ln and _CORRUPTED_LINES.match(ln):
                    ok = False
                    continue
                _append(frames, _frame_names(ln), i - 1, skip)
        else:
            # A line the recipe expects but the report lacks (no RIP: line, say) is skipped
            # instead of swallowing the rest of the report.
            j = i
            while j < n:
                ln = frames_src[j]
                j += 1
                m = part.search(ln)
                if m is None:
                    continue
                names = [g for g in m.groups() if g]
                if part is RIP:
                    names = [title_name(g) for g in names]
                _append(frames, names, j - 1, skip)
                i = j
                break
            else:
                if part is not RIP and part is not CALL:
                    i = n  # an anchor line the recipe needs is missing: nothing after it counts
        part_idx += 1


def _rest_of_stack(frames_src: list[str], i: int, ok: bool) -> tuple[int, bool]:
    """The end of a stack from line i on, and whether it stays free of interleaved output."""
    n = len(frames_src)
    while i < n:
        ln = frames_src[i]
        i += 1
        if _stack_start(ln):
            break
        if "ret_from_fork" in ln and _CORRUPTED_LINES.match(ln):
            ok = False
    return i, ok


_TRACE_KEY = re.compile(r"Call (?:T|t)race:|[^k] backtrace:|^backtrace:|Backtrace:|Allocated by task|Freed by task")


def _stack_problem(lines: list[str]) -> str:
    """Why a report that should carry a stack trace is cut or garbled ("" when it is whole)."""
    seen = False
    for i, line in enumerate(lines):
        if not ("race" in line or "by task" in line) or not _TRACE_KEY.search(line):
            continue
        seen = True
        if not any(_frame_names(nxt) for nxt in lines[i + 1:i + 16]):
            return "no frames in a stack trace"
    if seen or any(_frame_names(line) for line in lines):
        return ""
    return "no stack trace in report"


def describe(lines: list[str], index: list[int], oops: Oops) -> Description:
    """Title of the report made of `lines[i] for i in index` (the header first).

    `index` skips the lines other CPUs or tasks printed in between when the log has printk caller ids.
    """
    text_lines = [lines[i] for i in index]
    text = "\n".join(text_lines)
    best: Description | None = None
    best_pos = len(text) + 1
    matched_title = False
    # A title match on the header line beats any later one; most formats are one-line regexes, so
    # trying them on the header line first spares a search through the whole report per format.
    head = text_lines[0] if text_lines else ""
    on_head = any(f.title.search(head) for f in oops.formats if not f.multiline)
    for fmt in oops.formats:
        m = fmt.title.search(head if on_head and not fmt.multiline else text)
        if m is None or m.start() > best_pos or (m.start() == best_pos and best is not None):
            continue
        if m.start() < best_pos:
            best = None
            best_pos = m.start()
        matched_title = True
        match = m
        if fmt.report is not None:
            # The report regexes start with the title text: one anchored try instead of a search
            # from every later header-like line (quadratic on a log full of them).
            match = fmt.report.match(text, m.start())
            if match is None:
                if fmt.parts is None and fmt.fmt.count("{") == 1 and fmt.fmt.endswith("{0}"):
                    # The header is there but the lines naming the function are cut off.
                    best = Description(fmt.fmt.format("corrupted"), fmt, [], True,
                                       "matched title but not report regexp")
                continue
        args = [g or "" for g in match.groups()]
        corrupted = fmt.corrupted
        reason = "report format is marked as corrupted" if corrupted else ""
        guilty_line = guilty_name = None
        if fmt.parts is not None:
            # Frames are looked for from the line of the title match on.
            first = text.count("\n", 0, match.start())
            found, ok = _extract(fmt, fmt.parts, text_lines[first:], first)
            if found is None and fmt.parts2 is not None:
                found, ok = _extract(fmt, fmt.parts2, text_lines[first:], first)
            if found is None:
                frame = "corrupted"
                corrupted, reason = True, reason or "extracted no stack frame"
            else:
                frame, guilty_line = found[0], index[found[1]]
                guilty_name = frame
                if not ok:
                    corrupted, reason = True, "stack trace is interleaved with other output"
            args.append(frame)
        if fmt.parts is not None and not corrupted:
            reason = _stack_problem(text_lines)
            corrupted = bool(reason)
        title = fmt.fmt.format(*args)
        alts = [a.format(*args) for a in fmt.alt]
        best = Description(sanitize(title) if fmt.parts is None or fmt.kind == "SLUB" else title.split("\n")[0], fmt,
                           [sanitize(a) for a in alts], corrupted, reason, guilty_line, guilty_name)
    if best is not None:
        return best
    pos = text.find(oops.header)
    line = text[pos:].split("\n", 1)[0] if pos >= 0 else text_lines[0]
    if line.strip() == oops.header:  # nothing follows the header: the report is cut
        return Description(oops.header + " corrupted", None, [], True, "nothing follows the header")
    return Description(sanitize(line), None, [], matched_title,
                       "matched title but not report regexp" if matched_title else "")
