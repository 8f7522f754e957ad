"""Stage B in dmesg mode: the candidate table of a serial-console log (spec §3).

Selection (§3.1): lines holding `+0x` or matching an OOPS pattern, minus the ignore patterns,
with the GNU grep artefacts of §3.2. Lockdep enrichment (§3.3). Classification (§3.4): an oops line
records its captured text; other `+0x` lines drive the calltrace rule (§3.5) on old-format frames.
"""

from __future__ import annotations

import re

from workers.statkeys.lines import line_flags
from workers.statkeys.reading import INVALID, repair
from workers.statkeys.tables import (
    CALLTRACE,
    CALLTRACE_IGNORE,
    CALLTRACE_WORDS,
    FRAME_NAME,
    OOM_FLAG,
    OOPS,
    OOPS_IGNORE,
    OOPS_IGNORE_WORDS,
    OOPS_WORDS,
    P95_WORDS,
)

# §3.2: GNU grep reads its input in chunks; once a chunk holds a NUL it prints nothing more. The
# size is not recorded; 32 KiB is grep's smallest read (its buffer grows past it).
GREP_CHUNK = 32 * 1024

_LOCKDEP_HEADS = ("possible recursive locking detected", "possible circular locking dependency detected")
_LOCKDEP_WINDOW = 30
_LOCKDEP_KEEP = 4
_LOCKDEP_WANTED = re.compile(r"trying to acquire lock|already holding lock|at: ")
_SHELL_SPECIAL = ('"', "$", "`", "\\")
_ENDS_WITH_BANG = re.compile(r"!$", re.M)


def binary_cut(lines: list[str]) -> list[int]:
    """§3.2: the indexes of `lines` that a grep without `-a` lets through: nothing from the chunk
    holding the first NUL on, and no line with invalid UTF-8 (we choose a UTF-8 locale)."""
    kept = range(len(lines))
    offset = 0
    for n, line in enumerate(lines):
        nul = line.find("\x00")
        if nul >= 0:
            limit = (offset + _size(line[:nul])) // GREP_CHUNK * GREP_CHUNK
            end, upto = 0, 0
            while upto < n and (end := end + _size(lines[upto]) + 1) <= limit:
                upto += 1
            kept = range(upto)
            break
        offset += _size(line) + 1
    return [i for i in kept if INVALID not in lines[i]]


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# Flags of the words found in one pass over the log (`line_flags`): which lines each test can hit.
_OOPS, _FRAME, _IGNORE, _LOCKDEP, _COMMON = 1, 2, 4, 8, 16
_WORDS = (*OOPS_WORDS, "+0x", *OOPS_IGNORE_WORDS, *_LOCKDEP_HEADS, *CALLTRACE_WORDS)
_FLAGS = (*(_OOPS,) * len(OOPS_WORDS), _FRAME, *(_IGNORE,) * len(OOPS_IGNORE_WORDS),
          *(_LOCKDEP,) * len(_LOCKDEP_HEADS), *(_COMMON,) * len(CALLTRACE_WORDS))


def selected_lines(lines: list[str], text: str | None = None) -> list[tuple[str, re.Match[str] | None, int]]:
    """§3.1-3.2: (line, OOPS match or None, word flags) of each selected line, in file order."""
    text = "\n".join(lines) if text is None else text
    flags = line_flags(text, _WORDS, _FLAGS)
    for m in _ENDS_WITH_BANG.finditer(text):  # P95 needs a `!` at the end and `.c:`/`.h:`
        n = text.count("\n", 0, m.start())
        if any(w in lines[n] for w in P95_WORDS):
            flags[n] = flags.get(n, 0) | _OOPS
    found = []
    for i in sorted(flags):
        f = flags[i]
        line = lines[i]
        m = OOPS.search(line) if f & _OOPS else None
        if m is None and not (f & _FRAME or "+0x" in line):
            continue
        if f & _IGNORE and OOPS_IGNORE.search(line):
            continue
        found.append((line, m, f))
    if (INVALID in text or "\x00" in text) and any(INVALID in line or "\x00" in line for line, _, _ in found):
        found = [found[k] for k in binary_cut([line for line, _, _ in found])]
    return found


def lockdep_line(line: str, lines: list[str], same: dict[str, list[int]]) -> str | None:
    """§3.3: the line plus the first 4 lock-holder lines of the 30 after each identical file line."""
    if line.endswith("\r") or any(c in line for c in _SHELL_SPECIAL):
        return None  # the shell lookup of the robot misbehaves on these; we choose no enrichment
    kept: list[str] = []
    for i in same.get(line, ()):
        for after in lines[i:i + 1 + _LOCKDEP_WINDOW]:
            if _LOCKDEP_WANTED.search(after):
                kept.append(after)
                if len(kept) == _LOCKDEP_KEEP:
                    break
        if len(kept) == _LOCKDEP_KEEP:
            break
    if not kept:
        return None
    cleaned = []
    for k in kept:
        at = k.rfind(" at:")
        if at >= 0:
            k = "at:" + k[at + len(" at:"):]
        if k.startswith("["):
            k = k[k.rfind("] ") + 2:] if "] " in k else k
        cleaned.append(k)
    return line + " " + " ".join(cleaned)


def candidates(lines: list[str], text: str | None = None) -> dict[str, str]:
    """The insertion-ordered candidate table {raw key: line} of dmesg mode (§3.6)."""
    table: dict[str, str] = {}
    oom = False
    previous: str | None = None
    same: dict[str, list[int]] | None = None

    def calltrace(frame: str | None) -> None:  # §3.5
        if frame is None or oom or CALLTRACE_IGNORE.search(frame):
            return
        m = FRAME_NAME.search(frame)
        if m:
            table.setdefault("calltrace:" + m.group(1), frame)

    repairing = INVALID in (text or "")
    for raw_line, match, flags in selected_lines(lines, text):
        line = repair(raw_line) if repairing else raw_line
        if flags & _LOCKDEP:
            if same is None:
                same = {}
                for i, other in enumerate(lines):
                    if any(h in other for h in _LOCKDEP_HEADS):
                        same.setdefault(other, []).append(i)
            enriched = lockdep_line(line, lines, same)
            todo = [(line, match), (enriched, OOPS.search(enriched))] if enriched is not None else [(line, match)]
        else:
            todo = [(line, match)]
        for line, m in todo:
            if m is not None:  # §3.4-1 oops line
                table.setdefault(m.group(0), line)
                if OOM_FLAG.search(line):
                    oom = True
            elif "+0x" in line:  # §3.4-2 frame line
                if " ? " in line:
                    continue
                if (flags & _COMMON or line is not raw_line) and CALLTRACE.search(line):
                    if "SyS_" not in line:
                        calltrace(previous)
                    calltrace(line)
                    previous = None
                else:
                    previous = line
    return table
