"""Select the crash lines of a serial-console log and key them (lkp's `grep_crash_head`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.statkeys.lines import Log
from workers.statkeys.normalize import analyze_error_id
from workers.statkeys.patterns import ANCHORS, OOM_RE, find_head

# A function name is only matched from its first character (the lookbehind), which keeps the
# search linear on long runs of letters.
_FUNC = r"(?<![a-zA-Z0-9_.])([a-zA-Z0-9_.]+)"
# Call-trace lines keyed by lkp are those printed with an address: `[<ffffffff8123>] fn+0x1/0x2`.
_ADDR_FRAME = re.compile(r"\[<[0-9a-f]+>\] " + _FUNC + r"\+0x")
_ANY_FRAME = re.compile(_FUNC + r"\+0x[0-9a-f]+/0x[0-9a-f]+")
_SYSCALL = re.compile(r"\[<[0-9a-f]+>\] ((?:compat_)?SyS_[a-zA-Z0-9_]+)\+0x")
# The generic bottom of a stack: the frame just above one of these names the initcall, work
# function, notifier or kernel thread that was running; lkp keys it as `calltrace:fn`.
_ROOTS = frozenset(("do_one_initcall", "process_one_work", "kthread", "notifier_call_chain"))
_ROOT_WORDS = tuple(r + "+0x" for r in _ROOTS)
_NOT_ROOT_CALLERS = _ROOTS | {"worker_thread"}

_LOCKDEP_HEAD = re.compile(r"(?:WARNING|INFO): possible (?:circular|recursive) locking(?: \S+)? detected")
_LOCKDEP_SPAN = 40
# lkp's pattern for `<kind>-related general protection fault` starts at the word after the dash.
_RELATED = re.compile(r"-([a-z]+) $")


def _find_after(lines: list[str], start: int, end: int, needle: str) -> int:
    for j in range(start, min(end, len(lines))):
        if needle in lines[j]:
            return j
    return -1


def lockdep_line(head: str, lines: list[str], i: int) -> str | None:
    """lkp sums a lockdep report up in one line: `<head> getty/4382 is trying to acquire lock:
    at: fn+0x.. but task is already holding lock: at: fn+0x..` (None if the report is cut)."""
    end = i + _LOCKDEP_SPAN
    j = _find_after(lines, i + 1, end, " is trying to acquire lock:")
    if j < 0:
        return None
    who = lines[j][:lines[j].index(" is trying to acquire lock:")].rsplit(" ", 1)[-1].rsplit("]", 1)[-1]
    k = _find_after(lines, j + 1, end, " at: ")
    h = _find_after(lines, k + 1, end, "but task is already holding lock:") if k >= 0 else -1
    n = _find_after(lines, h + 1, end, " at: ") if h >= 0 else -1
    if n < 0:
        return None
    acquire = lines[k][lines[k].index(" at: ") + 1:]
    held = lines[n][lines[n].index(" at: ") + 1:]
    return (f"{head} {who} is trying to acquire lock: {acquire} "
            f"but task is already holding lock: {held}")


def crash_keys(log: Log, lines: list[str] | None = None) -> Iterable[str]:
    """Keys of the crash heads and call-trace roots, in log order (duplicates left to the caller).

    `lines` may replace the log's lines by a same-length list (kmsg prefixes stripped)."""
    lines = log.lines if lines is None else lines
    prev: str | None = None
    has_oom = False
    # lkp greps the heads and `+0x` lines first: other lines never reach the loop (nor `prev`).
    heads = set(log.lines_with(ANCHORS))
    for i in sorted(heads.union(log.lines_with(("+0x",)))):
        line = lines[i]
        m = find_head(line) if i in heads else None
        if m:
            text = line[m.start():]
            if text.startswith("general protection fault:") and (r := _RELATED.search(line, 0, m.start())):
                text = r.group(1) + " " + text  # `segment-related general protection fault`
            if text.startswith("Mem-Info:") and has_oom:
                continue  # the memory dump of an allocation failure already keyed
            if OOM_RE.search(text):
                has_oom = True
            yield analyze_error_id(text)[0]
            h = _LOCKDEP_HEAD.match(text)
            if h:
                joined = lockdep_line(h.group(0), lines, i)
                if joined:
                    yield analyze_error_id(joined)[0]
            continue
        if "+0x" not in line or " ? " in line:
            continue
        if not has_oom:
            s = _SYSCALL.search(line) if "SyS_" in line else None
            if s:
                yield analyze_error_id("calltrace:" + s.group(1))[0]
            f = _ANY_FRAME.search(line) if any(r in line for r in _ROOT_WORDS) else None
            if f and f.group(1) in _ROOTS and prev is not None:
                p = _ADDR_FRAME.search(prev)
                if p and p.group(1) not in _NOT_ROOT_CALLERS:
                    yield analyze_error_id("calltrace:" + p.group(1))[0]
        prev = line
