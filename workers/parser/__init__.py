"""Console log parser: every crash report in a log, with syzbot-compatible titles, frames and stat keys.

`parse_log(bytes | str) -> ParsedLog` is the entry point. The work is split by job:
`lines` and `console` (prefix/encoding normalization, printk context), `frames` (stack-frame and
RIP/NIP/pc lines of each arch), `catalogue` with `patterns`, `schema` and `formats` (the report
headers and title formats, as data), `titles` (title and alternative titles of one report),
`normalise` (the title's normal form), `stack` (frame extraction and the generic frames to skip),
`extent` and `reports` (report boundaries and contents), `corruption`, `derived`, `demangle`,
`details` (registers, Code:, taint, CPU/PID/Comm), `notices` (OOM kills and NMI backtraces:
`ParsedLog.notices`, never crash reports).
"""

from __future__ import annotations

import re

import ahocorasick_rs

from workers.parser.frames import parse_frame_line, parse_ip_line
from workers.parser.lines import normalize
from workers.parser.notices import find_notices
from workers.parser.reports import build_reports
from workers.report import ParsedLog
from workers.statkeys import stat_keys

__all__ = ["parse_log", "normalize", "parse_frame_line", "parse_ip_line"]

MAX_LINE = 2048
_BANNER = re.compile(r"Linux version (\S+)")
_BUILD_ID = re.compile(r"uild[ -]?[Ii][Dd]:? ([0-9a-f]{40})\b")


def parse_log(data: bytes | str, name: str | None = None, max_reports: int | None = None) -> ParsedLog:
    """All crash reports of a console log (the first is the primary one), its informational
    notices (OOM kills, NMI backtraces) and its stat keys (`name`, the log's path or file name,
    tells a robot `dmesg` from a `kmsg` file). With `max_reports`, only the first ones are built and
    the others counted in `reports_dropped` (the app keeps that many per log anyway)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = normalize(text)
    # printk lines are at most 1 KiB; longer ones are binary noise and would make the title regexes
    # (which scan from a header to the end of its report) quadratic.
    work = lines
    raw, raw_text = lines.raw, lines.raw_text
    if max(map(len, lines), default=0) > MAX_LINE or (raw is not None and max(map(len, raw), default=0) > MAX_LINE):
        work = [line if len(line) <= MAX_LINE else line[:MAX_LINE] for line in lines]
        raw = None if raw is None else [line if len(line) <= MAX_LINE else line[:MAX_LINE] for line in raw]
        raw_text = None
    joined = "\n".join(work)
    reports, skipped = build_reports(work, lines.caller, joined, lines.kernel_from, raw, lines.kmsg, raw_text,
                                     limit=max_reports)
    # Every report found ends the notice before it, built or not: the notices do not depend on the cap.
    notices = find_notices(work, lines.caller, joined, sorted([r.start_line for r in reports] + skipped))
    for report in reports + notices:
        report.start_line = lines.origin[report.start_line]
        report.end_line = lines.origin[report.end_line]
        for frame in report.frames:
            frame.line = lines.origin[frame.line]
    parsed = ParsedLog(reports=reports, notices=notices, reports_dropped=len(skipped))
    at = text.find("Linux version ")
    m = _BANNER.match(text, at) if at >= 0 else None
    parsed.release = m.group(1) if m else next((r.release for r in reports if r.release), None)
    for report in reports + notices:
        report.release = report.release or parsed.release
    m = _BUILD_ID.search(text) if ("uild ID" in text or "uild id" in text or "uild-id" in text) else None
    parsed.build_id = m.group(1) if m else None
    parsed.arch = _guess_arch(text)
    try:
        keys, source = stat_keys(data, name)  # the bytes: invalid UTF-8 matters to the robot
    except Exception:  # the stat-key rules are another module's; a bug there must not lose the reports
        keys, source = [], "kmsg" if lines.kmsg else "dmesg"
    parsed.stat_keys, parsed.stat_source = keys, source
    return parsed


# Strings only one architecture's traces print, most specific first.
_ARCH_HINTS = [
    ("powerpc", ("GPR00:", "NIP [", "NIP:  ")),
    ("arm64", ("pstate: ", "x29: ")),
    ("x86_64", ("RIP: 0010:", "RAX: ", "RIP: 0033:")),
    ("i386", ("EIP: ", "EAX: ")),
    ("riscv", ("epc : ", "badaddr: ")),
    ("s390", ("Krnl PSW", "Krnl GPRS")),
    ("arm", (") from [<", "PC is at ", "ARM-Versatile", "cpsr: ")),
]


_HINTS = [h for _, hints in _ARCH_HINTS for h in hints]
_HINT_ARCH = [arch for arch, hints in _ARCH_HINTS for _ in hints]
_HINT_FINDER = ahocorasick_rs.AhoCorasick(_HINTS)


def _guess_arch(text: str) -> str | None:
    try:
        # One pass for all hints; overlapping matches, so no hint hides another.
        seen = {k for k, _, _ in _HINT_FINDER.find_matches_as_indexes(text, overlapping=True)}
    except UnicodeEncodeError:  # lone surrogates
        seen = {k for k, h in enumerate(_HINTS) if h in text}
    return _HINT_ARCH[min(seen)] if seen else None
