"""Report extent (spec §4): from an oops line, the report body R (the lines of the same printk
context, prefixes stripped, some lines dropped) and the title window W (R up to a second report,
when lines carry no caller id). Spec: ../shared/reference/syzkaller-report-rules.md.

The spec's R runs to the end of the console output; here it stops after `MAX_LINES` lines (and
`TAIL_LINES` lines after W ended), which keeps many reports in a long log linear and changes only
which far-away lines the §10.2 marker checks could see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.parser.catalogue import NON_STARTING, STACK_NOTICES
from workers.parser.console import ConsoleView, is_cpu_context

MAX_LINES = 3000
TAIL_LINES = 200
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

    `oops`: indices of oops lines that are not replay-truncated; `oops_starts`: those
    that may start a second report (no non-starting marker).
    """
    ctx = view.context(start)
    ext = Extent(start, ctx, end=start)
    caller_ctx = ctx not in ("", "console")
    threshold = 16 if "BUG: KMSAN:" in view.raw[start] else 22  # §4.2 step 4
    second = False
    nmi = skip_rest = False
    text_lines = 0
    n = len(view)
    stop = min(n, start + MAX_LINES)
    tail_stop = stop
    i = start
    while i < stop and i < tail_stop:
        raw = view.raw[i]
        # 1. oops bookkeeping, in any context
        if i != start and not second and (i in oops_starts or any(s in raw for s in STACK_NOTICES)):
            second = True
            if not caller_ctx:
                tail_stop = i + TAIL_LINES
        if i in oops:
            ext.end = i
        # 2. context filter
        if i != start:
            c1 = view.context(i)
            if view.questionable(i) or (c1 != ctx and not (nmi and is_cpu_context(c1))):
                i += 1
                continue
        # 3.
        text_lines += 1
        # 4. skip rules
        drop = skip_rest
        if "Disabling lock debugging due to kernel taint" in raw:
            drop = True
        elif "Sending NMI from CPU" in raw:
            nmi = True
        elif text_lines > threshold and any(s in raw for s in _SKIP_REST):
            skip_rest = True
            drop = True
        if i == start:
            drop = False
        if not drop:
            # 5.
            ext.body.append(view.text(i))
            ext.index.append(i)
            # 6.
            if not second or caller_ctx:
                ext.window = len(ext.body)
        i += 1
    return ext


def second_starts(view: ConsoleView, oops: set[int]) -> set[int]:
    """Oops lines that record a second report start (§4.2 step 1): not the non-starting markers."""
    return {i for i in oops if not any(m in view.raw[i] for m in NON_STARTING)}
