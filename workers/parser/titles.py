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


def _frame_names(line: str) -> list[str]:
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
            while i < n:
                ln = frames_src[i]
                i += 1
                if STACK_START.search(ln):
                    break
                if part_idx != len(parts) - 1:
                    m = parts[part_idx + 1].search(ln)
                    if m:
                        _append(frames, [g for g in m.groups() if g], i - 1, skip)
                        part_idx += 1
                        break
                if _CORRUPTED_LINES.match(ln):
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


def describe(lines: list[str], start: int, end: int, oops: Oops) -> Description:
    """Title of the report whose header is line `start` (lines up to `end` exclusive belong to it)."""
    text_lines = lines[start:end]
    text = "\n".join(text_lines)
    best: Description | None = None
    best_pos = len(text) + 1
    matched_title = False
    for fmt in oops.formats:
        m = fmt.title.search(text)
        if m is None or m.start() > best_pos or (m.start() == best_pos and best is not None):
            continue
        if m.start() < best_pos:
            best = None
            best_pos = m.start()
        matched_title = True
        match = m
        if fmt.report is not None:
            match = fmt.report.search(text)
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
            found, ok = _extract(fmt, fmt.parts, text_lines[first:], start + first)
            if found is None and fmt.parts2 is not None:
                found, ok = _extract(fmt, fmt.parts2, text_lines[first:], start + first)
            if found is None:
                frame = "corrupted"
                corrupted, reason = True, reason or "extracted no stack frame"
            else:
                frame, guilty_line = found
                guilty_name = frame
                if not ok:
                    corrupted, reason = True, "stack trace is interleaved with other output"
            args.append(frame)
        title = fmt.fmt.format(*args)
        alts = [a.format(*args) for a in fmt.alt]
        best = Description(sanitize(title) if fmt.parts is None else title.split("\n")[0], fmt,
                           [sanitize(a) for a in alts], corrupted, reason, guilty_line, guilty_name)
    if best is not None:
        return best
    pos = text.find(oops.header)
    line = text[pos:].split("\n", 1)[0] if pos >= 0 else text_lines[0]
    if line.strip() == oops.header:
        line = oops.header + " corrupted"  # nothing follows the header: the report is cut
    return Description(sanitize(line), None, [], matched_title,
                       "matched title but not report regexp" if matched_title else "")
