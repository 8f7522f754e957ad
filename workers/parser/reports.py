"""Where each crash report starts and ends in a log, and what it holds.

A report starts at a header line (see `kinds.OOPSES`) and runs to its end marker (`---[ end trace`,
the closing `=====` of sanitizer reports, `Kernel Offset:`/`Rebooting in`) or to the next report.
Headers that are consequences of the report being printed (`Kernel panic - not syncing: Fatal
exception`, the `Oops: ... [#1]` line after `BUG: unable to handle ...`) stay inside it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from workers.parser import details
from workers.parser.frames import parse_frame_line, parse_ip_line, title_name
from workers.parser.guilty import strip_syscall_prefix
from workers.parser.kinds import HEADER_RE, OOPSES, Oops
from workers.parser.titles import demangle, describe
from workers.report import Frame, Report

# Headers that follow from the report before them instead of starting a new one.
_CONSEQUENCE = re.compile(r"Kernel panic - not syncing")
# The "Oops" line that follows a BUG/fault header by a few lines.
_OOPS_LINE = re.compile(
    r"^\s*(?:Oops(?:: | - )|Internal error: |Unable to handle kernel|invalid opcode: |divide error: |"
    r"general protection fault|stack segment: |int3: |PANIC: double fault|BUG: unable to handle|"
    r"BUG: kernel NULL pointer)"
)
_END = re.compile(r"---\[ end (?:trace|Kernel panic)|^\s*Kernel Offset: |^\s*Rebooting in \d+ seconds")
_RULER = re.compile(r"^\s*={20,}\s*$")
_BEFORE = re.compile(r"^\s*(?:-+\[ cut here \]-+|={20,}|-{20,}|\[ INFO: .*\]|\[ BUG: .*\])\s*$")
_SECTIONS = {
    "<IRQ>": "irq", "<NMI>": "nmi", "<SOFTIRQ>": "softirq", "<TASK>": "task", "<#DF>": "exception",
    "<EOI>": "task", "</IRQ>": "task", "</NMI>": "task", "</SOFTIRQ>": "task", "</TASK>": "task",
}
_PPC_INTERRUPT = re.compile(r"^\s*--- interrupt: ([0-9a-f]+)")
_TITLE_MIN_LINES = 25
# Messages that carry a header word but are not kernel crash reports.
_IGNORE = re.compile(r"EXT4-[Ff][Ss](?: \(.*?\))?:|XFS \(\w+\): |BTRFS (?:info|warning)")
_MAX_REPORT_LINES = 3000


@dataclass
class Header:
    line: int
    oops: Oops


def find_headers(lines: list[str]) -> list[Header]:
    """Every line that starts a report, with the report kind it belongs to."""
    # One regex pass over the whole text is far cheaper than a search per line.
    text = "\n".join(lines)
    starts = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    found: list[Header] = []
    last = -1
    for m in HEADER_RE.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i == last:
            continue
        last = i
        line = lines[i]
        if _IGNORE.search(line):
            continue
        for oops in OOPSES:
            at = line.find(oops.header)
            if at < 0:
                continue
            if at > 0 and (line[at - 1].isalnum() or line[at - 1] == "_"):
                continue  # BTF_INFO:, DEBUG: ... are not report headers
            if any(s.search(line) for s in oops.suppressions):
                continue
            found.append(Header(i, oops))
            break
    return found


def _marker_lines(lines: list[str]) -> list[int]:
    """Line numbers of end-of-report markers (end trace, Kernel Offset, ===== rulers), ascending."""
    marks = []
    for i, line in enumerate(lines):
        # Substring tests first: they cost nothing next to a regex call per line.
        if ("====" in line or "---[ end" in line or "Kernel Offset: " in line or "Rebooting in" in line) and (
            _END.search(line) or _RULER.match(line)
        ):
            marks.append(i)
    return marks


def _report_starts(lines: list[str], headers: list[Header]) -> list[tuple[Header, int]]:
    """Headers that start reports, each with the end (exclusive) of its report."""
    starts: list[Header] = []
    ends: list[int] = []
    n = len(lines)
    marks = _marker_lines(lines)
    for h in headers:
        if starts:
            cur = starts[-1]
            near = h.line - cur.line
            text = lines[h.line]
            if (_CONSEQUENCE.search(text) and near < 300) or near < 4 or (near < 25 and _OOPS_LINE.match(text)):
                ends[-1] = -1  # reopen: the consequence belongs to the report
                continue
            if ends[-1] < 0:
                ends[-1] = h.line
        starts.append(h)
        ends.append(-1)
        # This report's own end marker: the first after its header (a ruler must not be the
        # one that opens the report right above or below the header).
        k = bisect.bisect_right(marks, h.line)
        while k < len(marks) and marks[k] < h.line + _MAX_REPORT_LINES:
            j = marks[k]
            if _END.search(lines[j]) or j > h.line + 1:
                ends[-1] = j + 1
                break
            k += 1
    out = []
    for k, h in enumerate(starts):
        end = ends[k]
        nxt = starts[k + 1].line if k + 1 < len(starts) else n
        if end < 0 or end > nxt:
            end = min(nxt, h.line + _MAX_REPORT_LINES)
        out.append((h, max(end, h.line + 1)))
    return out


def _extend_tail(lines: list[str], end: int, limit: int) -> int:
    """Keep the panic/end-of-trace lines that follow a report's end marker."""
    j = end
    while j < limit and j < end + 40:
        text = lines[j]
        if _END.search(text) or _CONSEQUENCE.search(text):
            end = j + 1
        j += 1
    return end


def build_reports(lines: list[str]) -> list[Report]:
    headers = find_headers(lines)
    if not headers:
        return []
    spans = _report_starts(lines, headers)
    reports = []
    n = len(lines)
    for k, (h, end) in enumerate(spans):
        limit = spans[k + 1][0].line if k + 1 < len(spans) else n
        end = _extend_tail(lines, end, limit)
        title_end = min(n, max(end, h.line + _TITLE_MIN_LINES), h.line + _MAX_REPORT_LINES)
        if k + 1 < len(spans) and spans[k + 1][0].line >= h.line + _TITLE_MIN_LINES:
            title_end = min(title_end, max(end, spans[k + 1][0].line))
        desc = describe(lines, h.line, title_end, h.oops)
        start = h.line
        while start > 0 and h.line - start < 3 and _BEFORE.match(lines[start - 1]):
            start -= 1
        report = Report(
            title=desc.title, kind=(desc.fmt.kind if desc.fmt and desc.fmt.kind else h.oops.kind),
            alt_titles=desc.alt_titles, corrupted=desc.corrupted, corrupted_reason=desc.corrupted_reason,
            start_line=start, end_line=end - 1,
        )
        _fill(report, lines, start, end)
        report.guilty = _guilty_index(report.frames, desc.guilty_line, desc.guilty_name)
        reports.append(report)
    return reports


def _guilty_index(frames: list[Frame], line: int | None, name: str | None) -> int | None:
    """Index of the frame the title names: the one on the line it came from, else the first of that name."""
    if name is None:
        return None
    for k, f in enumerate(frames):
        if f.line == line and f.function:
            return k
    candidates = [k for k, f in enumerate(frames) if f.function and _title_key(f.function) == name]
    after = [k for k in candidates if line is None or frames[k].line >= line]
    reliable = [k for k in after or candidates if frames[k].reliable]
    pick = reliable or after or candidates
    return pick[0] if pick else None


def _title_key(function: str) -> str:
    return strip_syscall_prefix(demangle(title_name(function)))


def _fill(report: Report, lines: list[str], start: int, end: int) -> None:
    section = "task"
    for i in range(start, end):
        line = lines[i]
        stripped = line.strip()
        if stripped in _SECTIONS:
            section = _SECTIONS[stripped]
            continue
        if stripped.startswith("---") and _PPC_INTERRUPT.match(stripped):
            section = "exception"
            continue
        frame = None
        if ":" in line[:24] or line.lstrip()[:3] in ("NIP", "LR ", "PC ", "LR:"):
            frame = parse_ip_line(line)
        if frame is None:
            frame = parse_frame_line(line)
        if frame is not None:
            frame.section = section
            frame.line = i
            if frame.role == "ip" and report.ip is None and (frame.function or _kernel_address(frame)):
                report.ip = frame
            report.frames.append(frame)
            continue
        details.fill_line(report, line)


def _kernel_address(frame: Frame) -> bool:
    return frame.address is not None and frame.address >= 0xC0000000
