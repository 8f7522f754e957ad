"""Select the crash lines of a serial-console log and key them (lkp's `grep_crash_head`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.statkeys.normalize import analyze_error_id
from workers.statkeys.patterns import OOM_RE, OOPS_RE, PREFILTER

# lkp splits lines where a second printk record starts in the middle of another one.
_MIXED = re.compile(r"(.+?)(\[ *[0-9]{1,6}\.[0-9]{6}\] .*)")
# ...but not where the head is a kmsg level / facility prefix of the record itself.
_RECORD_PREFIX = re.compile(r"^(?:<\d+>|\d+,\d+,\d+,[^;]*;|[a-z]+\d? *: *[a-z]+ *: )$")
_INLINE_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+\+0x")

# Call-trace lines: only frames printed with their address (`[<ffffffff8123>] fn+0x1/0x2`).
_ADDR_FRAME = re.compile(r"\[<[0-9a-f]+>\] ([a-zA-Z0-9_.]+)\+0x")
_ANY_FRAME = re.compile(r"([a-zA-Z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+")
_SYSCALL = re.compile(r"\[<[0-9a-f]+>\] ((?:compat_)?SyS_[a-zA-Z0-9_]+)\+0x")
# The generic bottom of a stack: the frame just above one of these says which initcall, work
# function, kernel thread or syscall was running.
_ROOTS = frozenset(("do_one_initcall", "process_one_work", "kthread", "notifier_call_chain"))
_NOT_ROOT_CALLERS = _ROOTS | {"worker_thread"}

_LOCKDEP_HEAD = re.compile(r"(?:WARNING|INFO): possible (?:circular|recursive) locking(?: \S+)? detected")


def split_lines(text: str) -> list[str]:
    """Console lines after lkp's `fixup_dmesg`: mixed records broken up, CR and escapes dropped."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]
        if "+0x" in line:
            line = _INLINE_SUFFIX.sub("+0x", line)
        m = _MIXED.match(line) if "] " in line else None
        if (m and not m.group(1).lstrip().startswith("[") and "[<" not in m.group(1)
                and not _RECORD_PREFIX.match(m.group(1))):
            out.append(m.group(1))
            out.append(m.group(2))
        else:
            out.append(line)
    return out


def _lockdep_line(head: str, lines: list[str], i: int) -> str | None:
    """lkp joins a lockdep report's who/what lines into one: `... detected getty/4382 is trying
    to acquire lock: at: fn+0x.. but task is already holding lock: at: fn+0x..`."""
    parts = [head]
    want = ("is trying to acquire lock:", "but task is already holding lock:")
    j = i + 1
    for phrase in want:
        while j < len(lines) and j < i + 40 and phrase not in lines[j]:
            j += 1
        if j >= len(lines) or j >= i + 40:
            return None
        text = lines[j]
        text = text[text.index(phrase) - (0 if phrase.startswith("but") else 0):]
        if not phrase.startswith("but"):
            who = re.search(r"(\S+) is trying to acquire lock:", lines[j])
            text = (who.group(1) + " " if who else "") + phrase
        parts.append(text)
        j += 1
        while j < len(lines) and j < i + 40 and " at: " not in lines[j]:
            j += 1
        if j >= len(lines) or j >= i + 40:
            return None
        parts.append(lines[j][lines[j].index(" at: ") + 1:])
        j += 1
    return " ".join(parts)


def crash_keys(lines: list[str]) -> Iterable[str]:
    """Keys in order of first appearance (duplicates removed by the caller)."""
    prev: str | None = None
    has_oom = False
    for i, line in enumerate(lines):
        m = OOPS_RE.search(line) if any(w in line for w in PREFILTER) else None
        if m:
            text = line[m.start():].lstrip("] :")
            if text.startswith("Mem-Info:") and has_oom:
                continue
            if OOM_RE.search(text):
                has_oom = True
            yield analyze_error_id(text)[0]
            h = _LOCKDEP_HEAD.match(text)
            if h:
                joined = _lockdep_line(h.group(0), lines, i)
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
