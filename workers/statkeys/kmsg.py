"""Keys of lkp's kmsg parser: printk errors, user-space segfaults and sanitizer reports.

lkp dumps /dev/kmsg with `dmesg -x`-like prefixes (`kern  :err   : [ 43.1] text`) or `<N>`
levels; its kmsg parser keys every kernel line of level err or worse that is not already an oops
head, plus segfault lines, the ASan/UBSan reports of user-space tools and lkp's own
`LKP: ... Kernel tests: Boot OK!` marker (its fixtures key it in kmsg dumps).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.statkeys.lines import Log
from workers.statkeys.normalize import analyze_error_id, common_error_id
from workers.statkeys.patterns import find_head

_RAW_RECORD = re.compile(r"^(\d+),\d+,\d+,[^;]*;")
_LEVEL_PREFIX = re.compile(r"^<(\d+)>")
_FACILITY_PREFIX = re.compile(
    r"^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d) *: *"
    r"(emerg|alert|crit|err|warn|notice|info|debug) *: ")
_ERROR_LEVELS = {"emerg", "alert", "crit", "err"}
_STARS = re.compile(r"^[\s*]+|[\s*]+$")
_SEGFAULT = re.compile(r"(?<!\S)\S+\[\d+\]: segfault at ")
_BOOT_OK = re.compile(r"LKP: .*Kernel tests: Boot OK!")
_RUNTIME_ERROR = re.compile(r"(?<!\S)(\S+:\d+:\d+: runtime error: .*)")
_LEAK_HEAD = re.compile(r"\b(Direct|Indirect) leak of \d+ byte")
_LEAK_FRAME = re.compile(r"#(\d+) 0x[0-9a-f]+ in (\S+)")
_LEAK_FRAMES = 6

# Error-level messages lkp's kmsg-denylist drops: harmless noise of test machines.
_DENYLIST = (
    "genirq: Flags mismatch",
)


def is_kmsg(lines: list[str]) -> bool:
    """True for a /dev/kmsg dump: raw records, `<N>` levels or facility:level prefixes."""
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        if _RAW_RECORD.match(line) or _LEVEL_PREFIX.match(line) or _FACILITY_PREFIX.match(line):
            return True
        seen += 1
        if seen > 50:
            break
    return False


def record_level(line: str) -> tuple[str | None, str]:
    """(level name of a kernel record, or None; text without the prefix) of one kmsg line.

    Records of other facilities (user space writing to /dev/kmsg) have no kernel level."""
    m = _RAW_RECORD.match(line) or _LEVEL_PREFIX.match(line)
    if m:
        return _level_name(int(m.group(1))), line[m.end():]
    m = _FACILITY_PREFIX.match(line)
    if m:
        return (m.group(2) if m.group(1) == "kern" else None), line[m.end():]
    return None, line


def _level_name(prefix: int) -> str | None:
    """`<N>` / raw record prefix: facility * 8 + level; facility 0 is the kernel."""
    if prefix > 7:
        return None
    return ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")[prefix]


def _sanitizer_leak(lines: list[str], i: int, kind: str) -> str | None:
    funcs: list[str] = []
    for line in lines[i + 1:i + 40]:
        m = _LEAK_FRAME.search(line)
        if m:
            if int(m.group(1)) != len(funcs):
                break
            funcs.append(m.group(2))
            if len(funcs) == _LEAK_FRAMES:
                break
        elif line.strip() and "#" not in line and funcs:
            text = record_level(line)[1].strip()
            if text and not re.fullmatch(r"\[[ \d.]+\]", text):
                break
    if not funcs:
        return None
    return f"sanitizer.{kind.lower()}_leak/" + "/".join(funcs)


# Words that anchor the non-level rules, for `Log.lines_with`.
_ANCHORS = ("Kernel tests: Boot OK!", "segfault at ", "runtime error: ", " leak of ")
_ERROR_ANCHORS = (":emerg :", ":alert :", ":crit  :", ":err   :", "<0>", "<1>", "<2>", "<3>")


def _error_level_lines(log: Log) -> list[int]:
    """Lines that may be printk errors: found by anchor, except in raw /dev/kmsg records whose
    level is a number at the start of the line."""
    lines = log.lines
    if any(_RAW_RECORD.match(line) for line in lines[:50]):
        return list(range(len(lines)))
    return log.lines_with(_ERROR_ANCHORS)


def kmsg_keys(log: Log) -> Iterable[str]:
    """Keys of lkp's kmsg parser in log order (duplicates left to the caller)."""
    lines = log.lines
    candidates = set(log.lines_with(_ANCHORS))
    if is_kmsg(lines):
        candidates.update(_error_level_lines(log))
    for i in sorted(candidates):
        line = lines[i]
        level, text = record_level(line)
        if _BOOT_OK.search(text):
            yield analyze_error_id(text[text.index("LKP: "):])[0]
            continue
        if _SEGFAULT.search(text):
            yield analyze_error_id(text)[0]
            continue
        m = _RUNTIME_ERROR.search(text)
        if m:
            body = re.sub(r"^\[[ \d.]+\]\s*", "", m.group(1))
            yield "sanitizer." + common_error_id(body)
            continue
        m = _LEAK_HEAD.search(text)
        if m:
            key = _sanitizer_leak(lines, i, m.group(1))
            if key:
                yield key
            continue
        if level not in _ERROR_LEVELS:
            continue
        if find_head(text) or any(d in text for d in _DENYLIST):
            continue
        body = _STARS.sub("", re.sub(r"^(?:\[[^\]]*\]\s*)+", "", text))
        if body:
            key = analyze_error_id(body)[0]
            if key:
                yield key
