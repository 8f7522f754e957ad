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
from typing import NamedTuple

from workers.parser import derived, details
from workers.parser.catalogue import HEADERS, STACK_NOTICES, Group
from workers.parser.console import ConsoleView, oops_group
from workers.parser.corruption import VM_DISCONNECTED
from workers.parser.demangle import demangle
from workers.parser.derived import SUPPRESSION_WORDS
from workers.parser.extent import report_extent, second_starts
from workers.parser.frames import parse_normalized_frame, parse_normalized_ip, title_name
from workers.parser.stack import canonical
from workers.parser.titles import describe
from workers.report import Frame, Report
from workers.statkeys.lines import lines_with

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
# Headings of the disassembly decodecode inserts into decoded logs, underlined with "=====".
_DECODECODE = re.compile(r"^\s*(?:All code|Code starting with the faulting instruction)\s*$")
_BEFORE = re.compile(r"^\s*(?:-+\[ cut here \]-+|={20,}|-{20,}|\[ INFO: .*\]|\[ BUG: .*\])\s*$")
_SECTIONS = {
    "<IRQ>": "irq", "<NMI>": "nmi", "<SOFTIRQ>": "softirq", "<TASK>": "task", "<#DF>": "exception",
    "<EOI>": "task", "</IRQ>": "task", "</NMI>": "task", "</SOFTIRQ>": "task", "</TASK>": "task",
}
# First two letters of RIP/EIP/IP/NIP/LR/pc/lr/PC is at/epc/ra/Krnl PSW lines (a cheap pre-check).
_IP_HEADS = frozenset(["RI", "EI", "IP", "NI", "LR", "pc", "lr", "PC", "ep", "ra", "Kr", "PS"])
_PPC_INTERRUPT = re.compile(r"^\s*--- interrupt: ([0-9a-f]+)")
_MAX_REPORT_LINES = 3000


@dataclass
class Header:
    line: int
    oops: Group


@dataclass
class OopsLines:
    """The oops lines of a log (spec §3.3-3.5): the headers that start reports, every oops line that
    is not replay-truncated (they end reports, §4.2) and those that start a second report; whether the
    log is suppressed (§12) and whether the VM disconnected (§10.3)."""

    headers: list[Header]
    oops: set[int]
    second: set[int]
    suppressed: bool = False
    disconnected: bool = False


def find_oops(view: ConsoleView, raw_text: str, kernel_from: int = 0) -> OopsLines:
    headers: list[Header] = []
    oops: set[int] = set()
    notices: set[int] = set()
    suppressed = disconnected = False
    for i in lines_with(raw_text, _WORDS):
        line = view.raw[i]
        if any(s in line for s in STACK_NOTICES):
            notices.add(i)
        if not suppressed and any(w in line for w in SUPPRESSION_WORDS):
            suppressed = derived.suppressed(line)
        if VM_DISCONNECTED in line:
            disconnected = True
        group = oops_group(line)
        if group is None or view.replay_truncated(i):
            continue
        oops.add(i)
        if group.kind == "reboot" and i <= kernel_from:
            continue  # the decompressor's "Booting the kernel." before any kernel output: the first boot
        headers.append(Header(i, group))
    return OopsLines(headers, oops, second_starts(view, oops) | notices, suppressed, disconnected)  # §4.2 step 1


_WORDS = HEADERS + STACK_NOTICES + SUPPRESSION_WORDS + (VM_DISCONNECTED,)


def find_headers(lines: list[str], text: str | None = None, kernel_from: int = 0) -> list[Header]:
    """Every line that starts a report, with its oops group (`text`: the lines joined)."""
    view = ConsoleView(lines, lines, [None] * len(lines))
    return find_oops(view, "\n".join(lines) if text is None else text, kernel_from).headers


_MARKER_WORDS = ("====", "---[ end", "Kernel Offset: ", "Rebooting in")


def _marker_lines(lines: list[str], text: str) -> list[int]:
    """Line numbers of end-of-report markers (end trace, Kernel Offset, ===== rulers), ascending."""
    marks = []
    # The substrings are found in one pass over the text: only their lines reach the regexes.
    for i in lines_with(text, _MARKER_WORDS):
        line = lines[i]
        if _END.search(line) or (_RULER.match(line) and not _DECODECODE.match(lines[i - 1] if i else "")):
            marks.append(i)
    return marks


def _report_starts(lines: list[str], headers: list[Header], text: str) -> list[tuple[Header, int]]:
    """Headers that start reports, each with the end (exclusive) of its report."""
    starts: list[Header] = []
    ends: list[int] = []
    n = len(lines)
    marks = _marker_lines(lines, text)
    for h in headers:
        if starts:
            cur = starts[-1]
            near = h.line - cur.line
            text = lines[h.line]
            if (
                # A panic is the report's consequence while the report is open or just closed; a
                # panic long after its end marker is a new crash (e.g. no root fs after a WARNING).
                (_CONSEQUENCE.search(text) and near < 300 and (ends[-1] < 0 or h.line < ends[-1] + 40))
                or near < 4
                or (near < 25 and _OOPS_LINE.match(text))
                # SLUB prints its verdict, then the WARNING of slab_err() with the stack.
                or (near < 25 and cur.oops.kind == "SLUB" and "WARNING:" in text)
            ):
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


class Found(NamedTuple):
    """The reports built, and the first lines of those found past the limit (counted, not built)."""

    reports: list[Report]
    skipped: list[int]


def build_reports(lines: list[str], caller: list[str | None] | None = None, text: str | None = None,
                  kernel_from: int = 0, raw: list[str] | None = None, kmsg: bool = False,
                  raw_text: str | None = None, limit: int | None = None) -> Found:
    """Reports of normalized lines; `caller[i]` is line i's printk caller id (`T123`, `C1`) if any;
    `text` is the lines joined with newlines, when the caller has it already; `kernel_from` is the
    first line known to be kernel output (an earlier "Booting the kernel." is the first boot); `raw`
    the same lines as printed (console prefixes kept), which the titles are made from.

    Only the first `limit` reports are built (extent, title, frames: nearly all the cost); the
    others are only located, so a log of 20,000 reports costs little more than its first thousand."""
    text = "\n".join(lines) if text is None else text
    n = len(lines)
    if caller is None:
        caller = [None] * n
    view = ConsoleView(raw if raw is not None else lines, lines, caller, kmsg)
    if raw is None:
        raw_text = text
    elif raw_text is None:
        raw_text = "\n".join(raw)
    found = find_oops(view, raw_text, kernel_from)
    if not found.headers:
        return Found([], [])
    spans = _report_starts(lines, found.headers, text)
    reports = []
    built = len(spans) if limit is None else max(0, limit)
    skipped = [_first_line(lines, h.line) for h, _ in spans[built:]]
    for k, (h, end) in enumerate(spans[:built]):
        limit = spans[k + 1][0].line if k + 1 < len(spans) else n
        end = _extend_tail(lines, end, limit)
        ctx = caller[h.line]
        ext = report_extent(view, h.line, found.oops, found.second)
        desc = describe(view, ext, h.oops)
        if ctx is not None and desc.guilty_line is not None and end <= desc.guilty_line:
            end = desc.guilty_line + 1  # interleaved with another report: this one goes on after it
        start = _first_line(lines, h.line)
        report = Report(
            title=desc.title, kind=(desc.fmt.kind if desc.fmt and desc.fmt.kind else h.oops.kind),
            alt_titles=desc.alt_titles, corrupted=desc.corrupted, corrupted_reason=desc.corrupted_reason,
            type=desc.type, suppressed=found.suppressed, start_line=start, end_line=end - 1,
        )
        if found.disconnected:
            report.corrupted = True  # §10.3: the reason stays what it was (maybe none)
        fill_report(report, lines, start, end, ctx, caller)
        report.guilty = _guilty_index(report.frames, desc.guilty_line, desc.guilty_name)
        reports.append(report)
    return Found(reports, skipped)


def _first_line(lines: list[str], header: int) -> int:
    """A report's first line: its header, or the `[ cut here ]`/ruler lines just above it."""
    start = header
    while start > 0 and header - start < 3 and _BEFORE.match(lines[start - 1]):
        start -= 1
    return start


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
    return canonical(demangle(title_name(function)))


def fill_report(report: Report, lines: list[str], start: int, end: int, ctx: str | None,
                caller: list[str | None]) -> None:
    """Frames, instruction pointer, registers, Code: and task facts of lines [start, end) of caller ctx."""
    section = "task"
    user = False  # after a user-space RIP/NIP: the registers and Code: that follow are the program's
    for i in range(start, end):
        if ctx is not None and caller[i] not in (ctx, None):
            continue  # another CPU or task printed this line in the middle of the report
        line = lines[i]
        stripped = line.strip()
        if stripped in _SECTIONS:
            section = _SECTIONS[stripped]
            continue
        if stripped.startswith("---") and _PPC_INTERRUPT.match(stripped):
            section = "exception"
            user = " at 0x" in stripped  # `--- interrupt: 3000 at 0x1002dca8`: a system call from user space
            continue
        frame = None
        if stripped[:2] in _IP_HEADS:
            frame = parse_normalized_ip(line)
        if frame is None:
            frame = parse_normalized_frame(line)
        if frame is not None:
            frame.section = section
            frame.line = i
            if frame.role == "ip":
                kernel = bool(frame.function) or _kernel_address(frame)
                user = not kernel
                if kernel and report.ip is None:
                    report.ip = frame
            report.frames.append(frame)
            continue
        if user and (details.is_register_line(line) or "Code:" in line):
            continue
        details.fill_line(report, line)


def _kernel_address(frame: Frame) -> bool:
    return frame.address is not None and frame.address >= 0xC0000000
