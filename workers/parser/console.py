"""Console lines as syzkaller's Linux reporter reads them: printk context, prefix stripping,
"questionable" lines (spec §2) and oops lines (spec §3.3-3.5).

The spec is ../shared/reference/syzkaller-report-rules.md; section numbers below refer to it.
`ConsoleView` serves the report-extent walk (`extent.py`): it computes each line's context, stripped
text and questionable flag on first use only, so a log is never scanned twice for them.

Logs that are not a serial console (journalctl, syslog, /dev/kmsg records) carry prefixes the spec
does not know. There the app's normalized message stands in for the stripped text and every such
line shares the context "console" (or its printk caller id), which is what the kernel printed.
"""

from __future__ import annotations

import re

from workers.parser.catalogue import GROUPS, Group

# §2.2: ** N printk messages dropped **, anything + " login: ", <level>, [timestamp], [caller id], " ".
_CONSOLE = re.compile(r"(?:\*\* \d+ printk messages dropped \*\* )?(?:<\d+>)?\[ *\d+\.\d+\](\[ *[CT]\d+\])? ", re.A)
_CONSOLE_LOGIN = re.compile(
    r"(?:\*\* \d+ printk messages dropped \*\* )?(?:.* login: )?(?:<\d+>)?\[ *\d+\.\d+\](\[ *[CT]\d+\])? ", re.A)
_JOURNAL = re.compile(r"[A-Za-z0-9][\w.-]*\skernel(?:\[\d+\])?:\s", re.A)
_BARE_STAMP = re.compile(r"\[ *\d+\.\d+\]", re.A)
_TASK_CTX = re.compile(r"\[ *T\d+\]\Z", re.A)
_CPU_CTX = re.compile(r"\[ *C\d+\]\Z", re.A)
# §3.4: the line after an oops line says the oops line was replayed (a truncated copy).
REPLAY = "** replaying previous printk message **"


def context_of(line: str) -> tuple[str, int]:
    """§2.2: ("" | "console" | the caller-id bracket, end of the prefix or -1) of a raw line."""
    # The login prompt part is greedy (§2.2 step 2): with " login: " on the line, the longest prefix
    # wins, even over a timestamp at the very start (`[ 1.0] x login: [ 2.0] text` is "console").
    m = _CONSOLE_LOGIN.match(line) if " login: " in line else _CONSOLE.match(line)
    if m is None:
        return "", -1
    return (m.group(1) or "console"), m.end()


def strip(line: str) -> tuple[str, bool]:
    """§2.3 for a line with a console prefix: (text after the first "] ", questionable)."""
    at = line.find("] ")
    rest = line[at + 2:]
    if "<EOI>" in rest:
        return rest, False
    q = rest.find(" ? ")
    if q >= 0:
        return rest[q + 2:], True  # from the space after the "?"
    if rest.endswith(" (unreliable)"):  # powerpc
        return rest[: -len(" (unreliable)")], True
    return rest, False


def is_task_context(ctx: str) -> bool:
    return bool(_TASK_CTX.match(ctx))


def is_cpu_context(ctx: str) -> bool:
    return bool(_CPU_CTX.match(ctx))


def oops_group(line: str, ignores: tuple[re.Pattern[str], ...] = ()) -> Group | None:
    """§3.3/§3.4: the first group in table order this raw line is an oops line of, or None."""
    for group in GROUPS:
        if group.header in line and not any(s.search(line) for s in group.suppressions):
            if ignores and any(r.search(line) for r in ignores):
                return None
            return group
    return None


class ConsoleView:
    """The lines of one log seen as syzkaller sees them, computed lazily.

    `raw[i]`: the line as the console printed it (CR and terminal escapes removed). `message[i]`:
    the app's normalized message of the same line (its prefix removed, whatever the prefix was).
    `caller[i]`: its printk caller id ("T12"/"C1") when the app found one.
    """

    def __init__(self, raw: list[str], message: list[str], caller: list[str | None], kmsg: bool = False) -> None:
        self.raw = raw
        self.message = message
        self.caller = caller
        self.kmsg = kmsg
        self._ctx: list[str | None] = [None] * len(raw)
        self._text: list[str] = [""] * len(raw)
        self._q = bytearray(len(raw))

    def __len__(self) -> int:
        return len(self.raw)

    def _fill(self, i: int) -> str:
        raw = self.raw[i]
        if self.kmsg:
            ctx, end = "", -1
        else:
            m = _CONSOLE.match(raw) if raw[:1] == "[" and " login: " not in raw else None
            if m is not None:
                ctx, end = (m.group(1) or "console"), m.end()
            else:
                ctx, end = context_of(raw)
        if ctx:
            if raw.find("] ") == end - 2 and " ? " not in raw and "(unreliable)" not in raw:
                text, q = raw[end:], False  # the common case of §2.3, without the slicing below
            else:
                text, q = strip(raw)
            msg = self.message[i]
            if len(msg) < len(text) and "kernel" in text and text.endswith(msg) and _JOURNAL.match(text):
                # `journalctl -k -o short-monotonic`: `[ 12.3] host kernel: text` has a console prefix
                # but the journal's own one follows it; the message without both stands in.
                text, q = strip("] " + msg)
        elif not self.kmsg and (raw == self.message[i] or _BARE_STAMP.match(raw)):
            # §2.3: no prefix, verbatim, never questionable. A serial console timestamp without the
            # space after it (an empty printk line whose trailing space was lost, `[ 1.0]text`) is
            # no console prefix either (§2.2 step 6): such a line is context "" too.
            text, q = raw, False
        else:
            # A prefix the spec does not know (syslog, journal, kmsg record): the message stands in.
            caller = self.caller[i]
            ctx = f"[{caller}]" if caller else "console"
            text, q = strip("] " + self.message[i])
        self._ctx[i] = ctx
        self._text[i] = text
        self._q[i] = q
        return ctx

    def context(self, i: int) -> str:
        ctx = self._ctx[i]
        return ctx if ctx is not None else self._fill(i)

    def text(self, i: int) -> str:
        if self._ctx[i] is None:
            self._fill(i)
        return self._text[i]

    def questionable(self, i: int) -> bool:
        if self._ctx[i] is None:
            self._fill(i)
        return bool(self._q[i])

    def replay_truncated(self, i: int) -> bool:
        """§3.4: the next line says this one is being replayed; the last line never is."""
        return i + 1 < len(self.raw) and REPLAY in self.raw[i + 1]
