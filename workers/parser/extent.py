"""Report extent (spec §4): from an oops line, the report body R (the lines of the same printk
context, prefixes stripped, some lines dropped) and the title window W (R up to a second report,
when lines carry no caller id). Spec: ../shared/reference/syzkaller-report-rules.md.

The spec's R runs to the end of the console output; here it stops after `MAX_LINES` lines (and
`TAIL_LINES` lines after W ended), which keeps many reports in a long log linear and changes only
which far-away lines the §10.2 marker checks could see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.parser.catalogue import NON_STARTING
from workers.parser.console import ConsoleView, is_cpu_context

MAX_LINES = 1000
TAIL_LINES = 50
_SKIP_REST = ("Kernel panic - not syncing", "WARNING: possible circular locking dependency detected")


@dataclass
class Extent:
    start: int  # index of the oops line S
    context: str
    body: list[str] = field(default_factory=list)  # R, stripped lines
    index: list[int] = field(default_factory=list)  # line number of each line of R
    window: int = 0  # W = body[:window]
    end: int = 0  # EndPos as a line index: the last oops line at or after S

    @property
    def w_text(self) -> str:
        return "\n".join(self.body[: self.window]) + "\n" if self.window else ""

    @property
    def r_text(self) -> str:
        return "\n".join(self.body) + "\n" if self.body else ""


def report_extent(view: ConsoleView, start: int, oops: set[int], oops_starts: set[int]) -> Extent:
    """§4.2 for the report whose oops line is `start`.

    `oops`: indices of oops lines that are not replay-truncated; `oops_starts`: the lines that
    record a second report (oops lines without a non-starting marker, and STACK_NOTICES lines).
    """
    ctx = view.context(start)
    ext = Extent(start, ctx, end=start)
    body, index = ext.body, ext.index
    caller_ctx = ctx not in ("", "console")
    threshold = 16 if "BUG: KMSAN:" in view.raw[start] else 22  # §4.2 step 4
    second = nmi = skip_rest = False
    text_lines = 0
    stop = min(len(view), start + MAX_LINES)
    raws, ctxs, texts, qs, fill = view.raw, view._ctx, view._text, view._q, view._fill
    # The app's normalizer already read each line's caller id: another task's line is dropped
    # without parsing its prefix again (a CPU id may still pass in NMI-traceback mode). Not for a
    # report without console prefix: a `[ 1.0][ T1]` line with no space after it is context "" too.
    callers = view.caller if ctx else [None] * len(view)
    own = ctx.strip("[] ").replace(" ", "") if caller_ctx else None
    for i in range(start, stop):
        raw = raws[i]
        # 1. oops bookkeeping, in any context
        if i in oops_starts and i != start and not second:
            second = True
            if not caller_ctx:
                stop = min(stop, i + TAIL_LINES)  # R is read on only for the §10.2 checks
        if i in oops:
            ext.end = i
        # 2. context filter (S itself always passes)
        if i != start:
            other = callers[i]
            if (other is not None and other != own and (not nmi or other[0] != "C") and " login: " not in raw
                    and raw[raw.find("]") + 1: raw.find("]") + 2] == "["):
                continue  # the id right after the timestamp (not behind a login prompt, §2.2 step 2)
            c1 = ctxs[i]
            if c1 is None:
                c1 = fill(i)
            if qs[i] or (c1 != ctx and not (nmi and is_cpu_context(c1))):
                continue
        # 3.
        text_lines += 1
        # 4. skip rules
        drop = skip_rest
        if "Disabling lock debugging due to kernel taint" in raw:
            drop = True
        elif "Sending NMI from CPU" in raw:
            nmi = True
        elif text_lines > threshold and (_SKIP_REST[0] in raw or _SKIP_REST[1] in raw):
            skip_rest = drop = True
        if drop and i != start:
            continue
        # 5.
        body.append(texts[i])
        index.append(i)
        # 6.
        if not second or caller_ctx:
            ext.window = len(body)
    return ext


def second_starts(view: ConsoleView, oops: set[int]) -> set[int]:
    """Oops lines that record a second report start (§4.2 step 1): not the non-starting markers.
    The caller adds the lines holding a STACK_NOTICES message (they count even if not oops lines)."""
    return {i for i in oops if not any(m in view.raw[i] for m in NON_STARTING)}
