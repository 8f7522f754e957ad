"""Console log parser: every crash report in a log, with syzbot-compatible titles, frames and stat keys.

`parse_log(bytes | str) -> ParsedLog` is the entry point. The work is split by job:
`lines` (prefix/encoding normalization), `frames` (stack-frame and RIP/NIP/pc lines of each arch),
`kinds` (report headers and title formats), `guilty` (generic frames to skip), `titles` (title and
guilty frame of one report), `reports` (report boundaries and contents), `details` (registers, Code:,
taint, CPU/PID/Comm).
"""

from __future__ import annotations

import re

from workers.parser.frames import parse_frame_line, parse_ip_line
from workers.parser.lines import normalize
from workers.parser.reports import build_reports
from workers.report import ParsedLog
from workers.statkeys import stat_keys

__all__ = ["parse_log", "normalize", "parse_frame_line", "parse_ip_line"]

_BANNER = re.compile(r"Linux version (\S+)")
_BUILD_ID = re.compile(r"uild[ -]?[Ii][Dd]:? ([0-9a-f]{40})\b")


def parse_log(data: bytes | str) -> ParsedLog:
    """All crash reports of a console log (the first is the primary one) and its stat keys."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = normalize(text)
    reports = build_reports(lines)
    for report in reports:
        report.start_line = lines.origin[report.start_line]
        report.end_line = lines.origin[report.end_line]
        for frame in report.frames:
            frame.line = lines.origin[frame.line]
    parsed = ParsedLog(reports=reports)
    at = text.find("Linux version ")
    m = _BANNER.match(text, at) if at >= 0 else None
    parsed.release = m.group(1) if m else next((r.release for r in reports if r.release), None)
    m = _BUILD_ID.search(text) if ("uild ID" in text or "uild id" in text or "uild-id" in text) else None
    parsed.build_id = m.group(1) if m else None
    parsed.arch = _guess_arch(text)
    try:
        keys, source = stat_keys(text)
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
    ("arm", (") from [<", "PC is at ", " from ")),
    ("riscv", ("epc : ", "badaddr: ")),
    ("s390", ("Krnl PSW", "Krnl GPRS")),
]


def _guess_arch(text: str) -> str | None:
    for arch, hints in _ARCH_HINTS:
        if any(h in text for h in hints):
            if arch == "arm" and "] (" not in text and "+0x" not in text:
                continue
            return arch
    return None
