"""Select the crash lines of a serial-console log and key them (lkp's `grep_crash_head`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.statkeys.normalize import analyze_error_id
from workers.statkeys.patterns import OOM_RE, OOPS_RE, PREFILTER

# Longer lines are cut: no report head is that long, and it keeps every regex below linear.
MAX_LINE = 2048

# lkp splits a line where a second printk record starts in the middle of it (`fixup_dmesg`)...
_MIXED = re.compile(r"(.+)(\[ *[0-9]{1,6}\.[0-9]{6}\] .*)")
# ...but not after a kmsg level / facility prefix, which belongs to the record itself.
_RECORD_PREFIX = re.compile(r"(?:<\d+>|\d+,\d+,\d+,[^;]*;|[a-z]+\d? *: *[a-z]+ *: )")
_INLINE_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+\+0x")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")

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
_NOT_ROOT_CALLERS = _ROOTS | {"worker_thread"}

_LOCKDEP_HEAD = re.compile(r"(?:WARNING|INFO): possible (?:circular|recursive) locking(?: \S+)? detected")
_LOCKDEP_SPAN = 40


def split_lines(text: str) -> list[str]:
    """Console lines after lkp's `fixup_dmesg`: mixed records broken up, CR and ANSI escapes dropped."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw[:MAX_LINE].rstrip("\r")
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        if "\x00" in line:
            line = line.replace("\x00", "")
        if "+0x" in line:
            line = _INLINE_SUFFIX.sub("+0x", line)
        m = _MIXED.match(line) if "] " in line else None
        if m and not _RECORD_PREFIX.fullmatch(m.group(1)):
            out.append(m.group(1))
            out.append(m.group(2))
        else:
            out.append(line)
    return out


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


def crash_keys(lines: list[str]) -> Iterable[str]:
    """Keys of the crash heads and call-trace roots, in log order (duplicates left to the caller)."""
    prev: str | None = None
    has_oom = False
    for i, line in enumerate(lines):
        m = OOPS_RE.search(line) if any(w in line for w in PREFILTER) else None
        if m:
            text = line[m.start():].lstrip("] :")
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
            s = _SYSCALL.search(line)
            if s:
                yield analyze_error_id("calltrace:" + s.group(1))[0]
            f = _ANY_FRAME.search(line)
            if f and f.group(1) in _ROOTS and prev is not None:
                p = _ADDR_FRAME.search(prev)
                if p and p.group(1) not in _NOT_ROOT_CALLERS:
                    yield analyze_error_id("calltrace:" + p.group(1))[0]
        prev = line
