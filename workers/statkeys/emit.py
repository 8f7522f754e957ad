"""Stage C: the emit loop over the candidate table (spec §5), the same in both modes.

Filters look at the line, the id comes from the raw key: in order the timestamp, the
`cpu clock throttled` abort, the trinity stop, the hex-dump and non-printable skips, then `analyze`
and the id-length and empty-bisect gates; ids collapse first-wins and are never counted.
"""

from __future__ import annotations

import re

from workers.statkeys.derive import analyze
from workers.statkeys.reading import chomp, is_printable

_ABORT = "cpu clock throttled"  # §5-3
_TRINITY_STOPS = ("invoked oom-killer:", "page allocation stalls for", "tried to map")  # §5-4
_WS = r"[ \t\n\v\f\r]"
_HEXDUMP = (  # §5-5
    re.compile(rf"(?:{_WS}[0-9a-f]{{2}}){{16}}"),
    re.compile(rf"\[ *[0-9]{{1,6}}\.[0-9]{{6}}\]{_WS}*(?:{_WS}[0-9a-f]{{4}}){{8}}$"),
    re.compile(rf"\[ *[0-9]{{1,6}}\.[0-9]{{6}}\]{_WS}*(?:{_WS}[0-9a-f]{{8}}){{4}}$"),
)
_MIN_ID = 4  # §5-9: ids of 3 characters or fewer are dropped


class Aborted(Exception):
    """§5-3: the robot stops with a failure status and prints no error keys."""


def emit(table: dict[str, str]) -> list[str]:
    """The ids of the candidate table in order of first appearance (raises Aborted)."""
    ids: dict[str, None] = {}
    for raw, line in table.items():
        line = chomp(line)  # §5-1
        if _ABORT in line:  # §5-3
            raise Aborted(line)
        if "trinity" in line and any(s in line for s in _TRINITY_STOPS):  # §5-4
            break
        if any(rx.search(line) for rx in _HEXDUMP):  # §5-5
            continue
        if not is_printable(line):  # §5-6 (NUL passes; §5-7 removes it from the message only)
            continue
        key, bisect = analyze(raw)  # §5-8
        if len(key) < _MIN_ID or not bisect:  # §5-9, §5-10
            continue
        ids.setdefault(key, None)  # §5-11
    return list(ids)
