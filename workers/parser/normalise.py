"""Title normalisation and the 120-byte cut (spec §11): what changes from one run to the next
(executor numbers, addresses, line numbers, offsets, numbers) is replaced by a fixed word.
Spec: ../shared/reference/syzkaller-report-rules.md.
"""

from __future__ import annotations

import functools
import re

MAX_TITLE_BYTES = 120

# §11 rewrites, in order; each is repeated until the string no longer changes.
REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"syz-executor\.?[0-9]+(?:[/:][0-9]+)?", re.A), "syz-executor"),  # 1
    (re.compile(r"syzkaller[0-9]+(?:[/:][0-9]+)?", re.A), "syzkaller"),  # 2
    (re.compile(r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}", re.A), r"\1ADDR"),  # 3
    (re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", re.A), "IP"),  # 4
    (re.compile(r"(\.\w+)(?::[0-9]+)+", re.A), r"\1:LINE"),  # 5
    (re.compile(r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", re.A), r"\1"),  # 6
    (re.compile(r"CPU#[0-9]+", re.A), "CPU"),  # 7
    (re.compile(r"(\W)[0-9]+(\W|\Z)", re.A), r"\1NUM\2"),  # 8
    (re.compile(r"[0-9]{7,}", re.A), "NUM"),  # 9
]


@functools.lru_cache(maxsize=4096)
def normalise(title: str) -> str:
    """§11: the rewrites to a fixpoint each, then the first 120 bytes, printable ASCII, one space."""
    for pattern, repl in REWRITES:
        while True:
            new = pattern.sub(repl, title)
            if new == title:
                break
            title = new
    data = title.encode("utf-8", "replace")[:MAX_TITLE_BYTES]
    out = []
    prev = " "
    for b in data:
        if b == 9:
            b = 32
        if b < 0x20 or b >= 0x7F:
            continue
        c = chr(b)
        if c == " " and prev == " ":
            continue
        out.append(c)
        prev = c
    return "".join(out).strip()
