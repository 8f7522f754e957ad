"""Line normalization: the text of each console line without the decorations around it.

Console logs come through serial ports, `dmesg` (plain, `-T`, `-x`), `journalctl -k`, syslog files and
`/dev/kmsg`; each adds its own prefix (timestamps, printk caller ids, host names, facility names,
record headers) and the transport adds CRLF, ANSI colours, NULs and broken UTF-8. Every later stage
matches on the bare message, so the prefixes are removed here once, and `origin` keeps, for each
normalized line, the 0-based number of the line it came from in the original log.
"""

from __future__ import annotations

import re

# ANSI CSI/OSC sequences (colours, cursor moves) and the NULs some serial consoles emit.
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")

# One prefix element; they may be stacked (syslog host + kernel: + [timestamp] + [T123]).
_PREFIX = re.compile(
    r"""(?:
        <\d{1,3}>                                              # printk level <6>
      | \[\s*\d+\.\d+\]                                        # [   12.345678]
      | \[\s*[TC]\d+\]                                         # caller id [ T123] / [ C1]
      | \[\s*\d+\.\d+\s*\]\[\s*[TC]\d+\s*\]                    # both in one bracket run
      | \[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s\w{3}\s+\d+\s[\d:]{8}\s\d{4}\]   # dmesg -T
      | (?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*
        :(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:   # dmesg -x
      | (?:[A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)
        \s\S+\skernel(?:\[\d+\])?:                             # syslog / journalctl -k
    )\x20?""",
    re.X,
)
# /dev/kmsg record: "level,seq,usec,flags[,more];message"; dictionary lines that follow start with " ".
_KMSG = re.compile(r"^\d+,\d+,\d+,[^;]*;")
_KMSG_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


class NormalizedLines(list):
    """A list of normalized lines; `origin[i]` is the original line number of line i."""

    origin: list[int]
    kmsg: bool

    def __init__(self, lines: list[str], origin: list[int], kmsg: bool = False) -> None:
        super().__init__(lines)
        self.origin = origin
        self.kmsg = kmsg


def decode(data: bytes | str) -> str:
    """Text of a log whatever its bytes: UTF-8 when valid, else each bad byte as U+FFFD."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "replace")


def is_kmsg(raw_lines: list[str]) -> bool:
    """True when the log is /dev/kmsg records (`6,1234,5678,-;text`)."""
    seen = 0
    for line in raw_lines[:50]:
        if not line.strip() or line[0] == " ":
            continue  # blank or a " KEY=value" continuation line
        if not _KMSG.match(line):
            return False
        seen += 1
        if seen >= 3:
            break
    return seen > 0


def strip_prefix(line: str) -> str:
    """The message of one console line without timestamps, caller ids and syslog decorations."""
    pos = 0
    while True:
        m = _PREFIX.match(line, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
    return line[pos:] if pos else line


def clean(line: str) -> str:
    """Drop CR, ANSI escapes and control bytes that terminals and serial ports add."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\r" in line:
        line = line.replace("\r", "")
    if _CONTROL.search(line):
        line = _CONTROL.sub("", line)
    return line


def normalize(text: str | bytes) -> NormalizedLines:
    """Split a console log into message lines, keeping each line's original line number."""
    text = decode(text)
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    out: list[str] = []
    origin: list[int] = []
    if is_kmsg(raw):
        for n, line in enumerate(raw):
            line = clean(line)
            m = _KMSG.match(line)
            if m is None:
                # Continuation: " KEY=value" dictionary lines carry no console text.
                continue
            msg = line[m.end():]
            if "\\x" in msg:
                msg = _KMSG_ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), msg)
            for part in msg.split("\n"):
                out.append(strip_prefix(part))
                origin.append(n)
        return NormalizedLines(out, origin, kmsg=True)
    for n, line in enumerate(raw):
        line = clean(line)
        if line and (line[0] in "[<" or line[0].isalnum()):
            line = strip_prefix(line)
        out.append(line)
        origin.append(n)
    return NormalizedLines(out, origin)
