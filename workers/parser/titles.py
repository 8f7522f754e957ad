"""Titles: choose the format of a report and build its title (spec §5), its alternative titles
(§9) and its corruption verdict (§10), then normalise them (§11). `describe()` does one report.
Spec: ../shared/reference/syzkaller-report-rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.parser import corruption
from workers.parser.catalogue import Format, Group
from workers.parser.console import ConsoleView
from workers.parser.derived import crash_type, title_frame
from workers.parser.extent import Extent
from workers.parser.normalise import normalise
from workers.parser.stack import SYSCALL_PREFIXES, Extraction, extract


@dataclass
class Description:
    """What the reporter says about one report."""

    title: str
    alt_titles: list[str] = field(default_factory=list)
    corrupted: bool = False
    corrupted_reason: str = ""
    fmt: Format | None = None
    type: str = "UNKNOWN"  # §15.2, from the raw title
    frame: str = ""  # §15.1
    guilty_line: int | None = None  # line number (of the log) of the frame the title names
    guilty_name: str | None = None


def _fill(template: str, captures: dict[str, str], frames: list[str]) -> str:
    args = dict(captures)
    if frames:
        args["FRAME"] = args["FRAME1"] = frames[0]
        if len(frames) > 1:
            args["FRAME2"] = frames[1]
    args.setdefault("FRAME", "")
    args.setdefault("FRAME1", args["FRAME"])
    args.setdefault("FRAME2", "")
    return template.format(**args)


def _alternatives(fmt: Format, captures: dict[str, str], ext: Extraction | None, title: str) -> list[str]:
    """§9: explicit alternatives with canonical frames, then the title and alternatives with the raw
    frames and with each syscall prefix removed once."""
    frames = ext.frames if ext else []
    alts = [_fill(a, captures, frames) for a in fmt.alts]
    if ext is not None and ext.raw:
        sequences = [ext.raw]
        for prefix in SYSCALL_PREFIXES:
            if any(r.startswith(prefix) for r in ext.raw):
                sequences.append([r[len(prefix):] if r.startswith(prefix) else r for r in ext.raw])
        for seq in sequences:
            t = _fill(fmt.template, captures, seq)
            if t != title:
                alts.append(t)
            alts += [_fill(a, captures, seq) for a in fmt.alts]
    seen: set[str] = set()
    return [a for a in alts if not (a in seen or seen.add(a))]


def _captures(m) -> dict[str, str]:
    return {k: v for k, v in m.groupdict().items() if v is not None}


def select(group: Group, w: str, index: list[int], w_lines: list[str]) -> Description:
    """§5.2-5.4 and §10.1 on the title window W (`w`: its text; `w_lines`: its lines; `index`: the
    log line of each)."""
    best_pos = len(w) + 1
    winner: Format | None = None
    desc = Description(title="")
    stale: list[str] = []  # §5.4: alternatives of formats that later lost to a match further left
    matched_title = False
    line_starts: list[int] | None = None
    # The leftmost match is almost always on W's first line (the header): when any format matches
    # there, no match further down can win (§5.2), so one-line patterns are tried on that line only.
    head = w[: w.find("\n") + 1] if "\n" in w else w
    found = [None if f.literal not in (head if f.single_line else w) else
             f.title.search(head) if f.single_line else f.title.search(w) for f in group.formats]
    on_head = any(m is not None and m.start() < len(head) for m in found)
    for fmt, m in zip(group.formats, found, strict=True):
        if fmt.single_line and not on_head and fmt.literal in w:
            m = fmt.title.search(w)
        if m is None or m.start() > best_pos or (m.start() == best_pos and winner is not None):
            continue
        if m.start() < best_pos:
            if winner is not None:
                stale += desc.alt_titles
            winner = None
            best_pos = m.start()
        matched_title = True
        match = m
        if fmt.report is not None:
            match = fmt.report.search(w)
            if match is None:
                continue
        captures = _captures(match)
        ext = None
        reason = ""
        guilty_line = guilty_name = None
        if fmt.stack is not None:
            if line_starts is None:
                line_starts = [0]
                for line in w_lines:
                    line_starts.append(line_starts[-1] + len(line) + 1)
            first = _line_of(line_starts, match.start())
            ext = extract(fmt.stack, fmt.skip_re, w_lines, w, line_starts, first, match.start() - line_starts[first])
            if ext.failed:
                reason = corruption.EXTRACTED_NO_FRAMES
            if ext.lines and ext.lines[0] is not None:
                guilty_line = index[first + ext.lines[0]]
                guilty_name = ext.frames[0]
        title = _fill(fmt.template, captures, ext.frames if ext else [])
        if fmt.corr and not reason:
            reason = corruption.FORMAT_CORRUPTED
        desc = Description(title, _alternatives(fmt, captures, ext, title), bool(reason), reason, fmt,
                           guilty_line=guilty_line, guilty_name=guilty_name)
        winner = fmt
    if winner is None:
        # §5.3: the text from the first occurrence of the header to the end of its line.
        at = w.find(group.header)
        title = w[at:].split("\n", 1)[0] if at >= 0 else ""
        reason = corruption.MATCHED_TITLE_NOT_REPORT if matched_title else ""
        desc = Description(title, [], bool(reason), reason, None)
    desc.alt_titles = stale + desc.alt_titles
    return desc


def _line_of(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def describe(view: ConsoleView, ext: Extent, group: Group, raw_output: str | None = None) -> Description:
    """Title, alternative titles, corruption, type and frame of the report of extent `ext`."""
    w_lines = ext.body[: ext.window]
    w = ext.w_text
    desc = select(group, w, ext.index, w_lines)
    fallback = not desc.title
    if fallback:
        # §4.3: the header vanished from W (the start line was stripped): the raw output instead.
        lines = view.raw[ext.start: ext.end + 1]
        w = "\n".join(lines) + "\n"
        desc = select(group, w, list(range(ext.start, ext.end + 1)), lines)
    raw_title = desc.title
    if not desc.corrupted:
        won, nstc = desc.fmt is not None, bool(desc.fmt and desc.fmt.nstc)
        # R is only read when the stack-trace checks apply (a format won and it is not NSTC).
        body = "" if not won or nstc else w if fallback else w if ext.window == len(ext.body) else ext.r_text
        reason = corruption.after_parse(raw_title, body, won, nstc)
        desc.corrupted, desc.corrupted_reason = bool(reason), reason
    desc.type = crash_type(raw_title)
    desc.title = normalise(raw_title)
    desc.alt_titles = [normalise(a) for a in desc.alt_titles]
    desc.frame = title_frame(desc.title)
    return desc
