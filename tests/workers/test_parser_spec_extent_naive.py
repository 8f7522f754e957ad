"""The report extent (spec §2.2-§2.3 contexts and stripping, §3.3-§3.4 oops lines, §4.2 R and W) agrees
with a naive line-by-line reading of ../shared/reference/syzkaller-report-rules.md on seeded mixes of
synthetic console lines in every prefix shape (the parser's fast paths must not change the result)."""

import random
import re

import pytest

from workers.parser.catalogue import GROUPS, NON_STARTING, STACK_NOTICES
from workers.parser.console import REPLAY, ConsoleView
from workers.parser.extent import report_extent
from workers.parser.lines import normalize
from workers.parser.reports import find_oops

_PREFIX = re.compile(r"(?:\*\* \d+ printk messages dropped \*\* )?(?:.* login: )?(?:<\d+>)?\[ *\d+\.\d+\]"
                     r"(\[ *[CT]\d+\])? ", re.A)


def _context(line: str) -> str:
    m = _PREFIX.match(line)
    return "" if m is None else m.group(1) or "console"


def _strip(line: str) -> tuple[str, bool]:
    if not _context(line):
        return line, False
    rest = line[line.find("] ") + 2:]
    if "<EOI>" not in rest:
        if " ? " in rest:
            return rest[rest.find(" ? ") + 2:], True
        if rest.endswith(" (unreliable)"):
            return rest[: -len(" (unreliable)")], True
    return rest, False


def _oops(line: str) -> bool:
    return any(g.header in line and not any(s.search(line) for s in g.suppressions) for g in GROUPS)


def naive_extent(raw: list[str], s: int) -> tuple[list[str], list[str], int]:
    """§4.2 as written: (W, R, index of the last oops line)."""
    ctx = _context(raw[s])
    r: list[str] = []
    w_end = 0
    end = s
    second = nmi = skip_rest = False
    counted = 0
    threshold = 16 if "BUG: KMSAN:" in raw[s] else 22
    for i in range(s, len(raw)):
        line = raw[i]
        oops = _oops(line) and not (i + 1 < len(raw) and REPLAY in raw[i + 1])
        if oops:
            end = i
        if i != s and not second and ((oops and not any(m in line for m in NON_STARTING))
                                      or any(n in line for n in STACK_NOTICES)):
            second = True
        text, questionable = _strip(line)
        if i != s:
            c1 = _context(line)
            if questionable or (c1 != ctx and not (nmi and re.fullmatch(r"\[ *C\d+\]", c1))):
                continue
        counted += 1
        drop = skip_rest
        if "Disabling lock debugging due to kernel taint" in line:
            drop = True
        elif "Sending NMI from CPU" in line:
            nmi = True
        elif counted > threshold and ("Kernel panic - not syncing" in line
                                      or "WARNING: possible circular locking dependency detected" in line):
            skip_rest = drop = True
        if drop and i != s:
            continue
        r.append(text)
        if not second or ctx not in ("", "console"):
            w_end = len(r)
    return r[:w_end], r, end


PREFIXES = ["", "[   12.345678] ", "[   12.345678][ T1] ", "[   12.345678][ T2] ", "[   12.345678][   T1] ",
            "[   12.345678][  C0] ", "[   12.345678][  C1] ", "<4>[   12.345678] ", "<4>[   12.345678][ T1] ",
            "syzkaller login: [   12.345678] ", "[   11.0][ T2] host login: [   12.345678] ", "[   12.345678]",
            "[   12.345678][ T1]", "[   12.345678] [ T1] ", "** 3 printk messages dropped ** [   12.345678] "]
TEXTS = ["WARNING: CPU: 0 PID: 1 at net/x.c:1 w_fn+0x1/0x2", "BUG: KASAN: use-after-free in k_fn+0x1/0x2",
         "BUG: KMSAN: uninit-value in m_fn+0x1/0x2", "general protection fault: 0000 [#1] SMP",
         "Kernel panic - not syncing: panic_on_warn set ...", "invalid opcode: 0000 [#1] SMP",
         "WARNING: possible circular locking dependency detected", "FAULT_INJECTION: forcing a failure.",
         "vmalloc: allocation failure: 0 bytes", "Disabling lock debugging due to kernel taint",
         "Sending NMI from CPU 0 to CPUs 1:", "NMI backtrace for cpu 1", "** replaying previous printk message **",
         "RIP: 0010:r_fn+0x1/0x2", "Call Trace:", " <TASK>", " f_fn+0x1/0x2", " ? q_fn+0x1/0x2", " <EOI> ? e_fn",
         "[c0000000] [c0000001] p_fn+0x1/0x2 (unreliable)", "", "random line", "EXT4-fs (loop0): WARNING: x",
         "ODEBUG: free active object BUG: x", "Internal error: Oops - BUG: 0 [#1]", "INFO: task a:1 blocked"]


@pytest.mark.parametrize("seed", range(40))
def test_extent_agrees_with_a_naive_reading(seed):
    rnd = random.Random(seed)
    own = rnd.choice(PREFIXES)
    raw = [(own if rnd.random() < 0.6 else rnd.choice(PREFIXES)) + rnd.choice(TEXTS) for _ in range(rnd.randrange(5, 45))]
    lines = normalize("\n".join(raw) + "\n")
    view = ConsoleView(lines.raw, lines, lines.caller, lines.kmsg)
    found = find_oops(view, lines.raw_text)
    assert [h.line for h in found.headers] == [
        i for i, line in enumerate(raw) if _oops(line) and not (i + 1 < len(raw) and REPLAY in raw[i + 1])]
    for h in found.headers:
        ext = report_extent(view, h.line, found.oops, found.second)
        w, r, end = naive_extent(raw, h.line)
        assert (ext.body[: ext.window], ext.body, ext.end) == (w, r, end), (seed, h.line)
