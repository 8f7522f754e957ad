"""Line normalization: the text of each console line without the decorations around it.

Console logs come through serial ports, `dmesg` (plain, `-T`, `-x`), `journalctl -k`, syslog files and
`/dev/kmsg`; each adds its own prefix (timestamps, printk caller ids, host names, facility names,
record headers) and the transport adds CRLF, ANSI colours, NULs and broken UTF-8. Every later stage
matches on the bare message, so the prefixes are removed here once, and `origin` keeps, for each
normalized line, the 0-based number of the line it came from in the original log.
"""

from __future__ import annotations

import bisect
import re

# ANSI CSI/OSC sequences (colours, cursor moves) and the NULs some serial consoles emit.
# An OSC string stops at the line end even when unterminated (else it would swallow the rest of the
# log); `ESC ( B` and friends select a character set (xterm's sgr0 prints `ESC ( B ESC [ m`).
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x1b), *range(0x1c, 0x20), 0x7f])

# One prefix element; they may be stacked (syslog host + kernel: + [timestamp] + [T123]).
_PREFIX = re.compile(
    r"""(?:
        <\d{1,3}>                                              # printk level <6>
      | \[\s*\d+\.\d+\]                                        # [   12.345678]
      | \[\s*[TC]\d+\]                                         # caller id [ T123] / [ C1]
      | \[\s*\d+\.\d+\s*\]\[\s*[TC]\d+\s*\]                    # both in one bracket run
      | \*\*\s\d+\sprintk\smessages\sdropped\s\*\*           # dropped-messages marker
      | \[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s\w{3}\s+\d+\s[\d:]{8}\s\d{4}\]   # dmesg -T
      | (?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*
        :(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:   # dmesg -x
      | (?:[A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)
        \s\S+\skernel(?:\[\d+\])?:                             # syslog / journalctl -k
      | [A-Za-z0-9][\w.-]*\skernel(?:\[\d+\])?:(?=\s)          # journalctl -k -o short-monotonic
    )\x20?""",
    re.X,
)
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "ftp", "local")
# The common case (serial console with timestamps) in one match.
_FAST = re.compile(r"\[\s*\d+\.\d+\](?:\[\s*([TC]\d+)\])?\x20?")
_CALLER = re.compile(r"\[\s*([TC]\d+)\s*\]")
# /dev/kmsg record: "level,seq,usec,flags[,more];message"; dictionary lines that follow start with " ".
_KMSG = re.compile(r"^\d+,\d+,\d+,[^;]*;")
_KMSG_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


class NormalizedLines(list):
    """A list of normalized lines; `origin[i]` is the original line number of line i and
    `caller[i]` the printk caller id of its prefix ("T123" task, "C1" CPU) or None;
    `kernel_from` the first line known to be kernel output (a timestamp prefix or the `Linux
    version` banner; len(lines) when none is)."""

    origin: list[int]
    caller: list[str | None]
    kmsg: bool
    kernel_from: int
    raw: list[str] | None  # the lines as printed (prefixes kept; CR and escapes removed), not for kmsg
    raw_text: str | None  # the same lines joined by "\n"

    def __init__(self, lines: list[str], origin: list[int], kmsg: bool = False,
                 caller: list[str | None] | None = None) -> None:
        super().__init__(lines)
        self.origin = origin
        self.kmsg = kmsg
        self.caller = caller if caller is not None else [None] * len(lines)
        self.kernel_from = 0 if kmsg else len(lines)
        self.raw = None
        self.raw_text = None


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
    # Control bytes are ASCII, so they show in the UTF-8 bytes, where deleting them is a C loop
    # several times faster than a regex scan of the text.
    data = line.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        line = _CONTROL.sub("", line)
    return line


def normalize(text: str | bytes) -> NormalizedLines:
    """Split a console log into message lines, keeping each line's original line number."""
    # Cleaning the whole text at once is far cheaper than line by line (none of it spans a newline).
    text = clean(decode(text))
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    out: list[str] = []
    origin: list[int] = []
    if is_kmsg(raw):
        for n, line in enumerate(raw):
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
    fast = _FAST.match
    caller: list[str | None] = []
    kernel_from = -1
    for n, line in enumerate(raw):
        ctx = None
        if line:
            first = line[0]
            if first == "[":
                m = fast(line)
                if m:
                    if kernel_from < 0:
                        kernel_from = len(out)
                    ctx = m.group(1)
                    line = line[m.end():]
                    first = line[:1]
            # A prefix led by a letter or digit is a syslog/journal one (holds "kernel") or a
            # `dmesg -x` facility: other lines skip the costly prefix regex.
            if first and (first in "[<*" or (first.isalnum() and ("kernel" in line
                                                                   or line.startswith(_FACILITIES)))):
                stripped = strip_prefix(line)
                if ctx is None and len(stripped) != len(line):
                    c = _CALLER.search(line, 0, len(line) - len(stripped))
                    ctx = c.group(1) if c else None
                line = stripped
        out.append(line)
        origin.append(n)
        caller.append(ctx)
    normalized = NormalizedLines(out, origin, caller=caller)
    normalized.raw = raw
    normalized.raw_text = text
    at = text.find("Linux version ")
    banner = bisect.bisect_left(origin, text.count("\n", 0, at)) if at >= 0 else len(out)
    normalized.kernel_from = min(banner, kernel_from if kernel_from >= 0 else len(out))
    return normalized
