"""The catalogue's row types (Group, Format, Stack) and the stack rules and alternative titles that
many formats share (spec §5.1, §6, §14)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workers.parser.patterns import COLLECT, Find, MultiLine, _literal_prefix, rx

# §14 preamble: the RIP-line and the Call-Trace line.
RIP_LINE = (r"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{PC} +){0,2}{FUNC}|(?:[0-9]+:)?0x[0-9a-f]+"
            r"|(?:[0-9]+:)?{PC} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))")
RIP_HINTS = ("IP", "pc ", "PC is at")
RIP = Find(RIP_LINE, RIP_HINTS)
CALL_TRACE = Find(r"Call Trace:|Call trace:|Backtrace:")


@dataclass(frozen=True)
class Stack:
    """A stack rule (§6): steps (FIND regexes and COLLECTs), fallback steps, extra skips, extractor."""

    steps: tuple
    fallback: tuple | None = None
    skip: tuple[str, ...] = ()
    extractor: str | None = None  # None (first surviving candidate) | "stall" (§8.1) | "hung" (§8.2)

    def with_(self, *, skip: tuple[str, ...] = (), extractor: str | None = None) -> Stack:
        return Stack(self.steps, self.fallback, skip, extractor)


@dataclass
class Format:
    """One title format (§5.1)."""

    section: str  # the spec's number, "1.13"
    title: re.Pattern[str] | MultiLine
    template: str
    report: re.Pattern[str] | MultiLine | None = None
    alts: tuple[str, ...] = ()
    stack: Stack | None = None
    nstc: bool = False  # no stack-trace check (§10.2)
    corr: bool = False  # always corrupted (§10.1.3)
    kind: str = ""  # the app's class of the report (filters, clustering)
    skip_re: re.Pattern[str] | None = field(default=None, init=False)
    # The title pattern never crosses a line end: its matches on W's first line are found there alone.
    single_line: bool = field(default=False, init=False)

    # The literal text every title match starts with (a cheap test before the regex).
    literal: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.literal = _literal_prefix(self.title.pattern)
        self.single_line = isinstance(self.title, re.Pattern) and "\n" not in self.title.pattern \
            and "(?s" not in self.title.pattern
        if self.stack is not None and self.stack.skip:
            self.skip_re = re.compile("|".join(f"(?:{s})" for s in self.stack.skip), re.A)


@dataclass
class Group:
    """One oops group (§3.1): a header substring, lines that look like it but are not, formats."""

    header: str
    suppressions: tuple[re.Pattern[str], ...]
    formats: list[Format]
    kind: str


def F(section: str, title: str, template: str, report: str | None = None, **kw) -> Format:  # noqa: N802
    return Format(section, rx(title), template, rx(report) if report else None, **kw)


# §14 stack rules.
WSR = Stack((Find(RIP_LINE + r"|--- interrupt: [0-9]+ at {FUNC}", (*RIP_HINTS, "--- interrupt: ")), COLLECT),
            fallback=(CALL_TRACE, COLLECT))
SOR = Stack((RIP, CALL_TRACE, COLLECT))
CTR = Stack((CALL_TRACE, COLLECT))
RIP_ONLY = Stack((RIP,))  # 8.1, 13.1, 15.1: the first RIP-line's function, no fallback
KFENCE_STACK = Stack((Find(r"BUG: KFENCE: [a-z\- ]+ in {FUNC}"), COLLECT))  # 1.9-1.12
KMSAN_STACK = Stack((COLLECT, Find(r"(Local variable .* created at:|Uninit was created at:)"), COLLECT))
LOCK_AT = Find(r"at: (?:{PC} +)?{FUNC}")
BAD_ACCESS = ("bad-access in {FRAME}",)
INVALID_FREE = ("invalid-free in {FRAME}",)
STALL = ("stall in {FRAME}",)
HANG = ("hang in {FRAME}",)
STACK_OVERFLOW = ("stack-overflow in {FRAME}",)
USB_SKIP = ("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")


def _suppress(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.A) for p in patterns)

