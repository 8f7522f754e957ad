"""Console log parser: every crash report in a log, with titles, frames and stat keys.

PLACEHOLDER: a minimal parser so the app's pipeline runs end to end; the full parser replaces it
(issue: Parser). The entry point and its return type stay: `parse_log(bytes | str) -> ParsedLog`.
"""

from __future__ import annotations

import re

from workers.report import ParsedLog, Report
from workers.statkeys import stat_keys

_PREFIX = re.compile(r"^(?:\[\s*\d+\.\d+\])?(?:\[\s*[TC]\d+\])?\s*")
_HEADS = re.compile(r"^(BUG: .*|WARNING: .*|Oops: .*|general protection fault.*|Kernel panic - not syncing: .*|kernel BUG at .*)")


def parse_log(data: bytes | str) -> ParsedLog:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    reports = []
    for n, raw in enumerate(text.splitlines()):
        line = _PREFIX.sub("", raw.rstrip("\r"))
        m = _HEADS.match(line)
        if m:
            reports.append(Report(title=m.group(1).strip(), kind=m.group(1).split(":")[0].split()[0],
                                  start_line=n, end_line=n))
    keys, source = stat_keys(text)
    return ParsedLog(reports=reports, stat_keys=keys, stat_source=source)
