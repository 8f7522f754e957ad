"""Stage B in dmesg mode: the candidate table of a serial-console log (spec §3).

Selection (§3.1): lines holding `+0x` or matching an OOPS pattern, minus the ignore patterns,
with the GNU grep artefacts of §3.2. Lockdep enrichment (§3.3). Classification (§3.4): an oops line
records its captured text; other `+0x` lines drive the calltrace rule (§3.5) on old-format frames.
"""

from __future__ import annotations

import re

from workers.statkeys.lines import line_flags
from workers.statkeys.reading import INVALID
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
# `+0x` is not one of them: most selected lines are frames, and a frame only matters as the one
# before a common-context frame (§3.5), which `_Walk.previous` finds by looking back from it.
_OOPS, _IGNORE, _LOCKDEP, _COMMON = 1, 2, 4, 8
_WORDS = (*OOPS_WORDS, *OOPS_IGNORE_WORDS, *_LOCKDEP_HEADS, *CALLTRACE_WORDS)
_FLAGS = (*(_OOPS,) * len(OOPS_WORDS), *(_IGNORE,) * len(OOPS_IGNORE_WORDS),
          *(_LOCKDEP,) * len(_LOCKDEP_HEADS), *(_COMMON,) * len(CALLTRACE_WORDS))


def word_flags(lines: list[str], text: str) -> dict[int, int]:
    """{line index: flags} of the lines an OOPS, ignore, lockdep or calltrace test can hit."""
    flags = line_flags(text, _WORDS, _FLAGS)
    for m in _ENDS_WITH_BANG.finditer(text):  # P95 needs a `!` at the end and `.c:`/`.h:`
        n = text.count("\n", 0, m.start())
        if any(w in lines[n] for w in P95_WORDS):
            flags[n] = flags.get(n, 0) | _OOPS
    return flags


def _selected(line: str, f: int) -> tuple[bool, re.Match[str] | None]:
    """§3.1 for one line: (selected, OOPS match)."""
    m = OOPS.search(line) if f & _OOPS else None
    if m is None and "+0x" not in line:
        return False, None
    if f & _IGNORE and OOPS_IGNORE.search(line):
        return False, None
    return True, m


def grep_dropped(lines: list[str], flags: dict[int, int]) -> set[int]:
    """§3.2: the lines that the second grep (without `-a`) drops when the log holds NULs or invalid
    UTF-8 (every `+0x` line is selected, so this is the slow path)."""
    # The second grep reads the first one's output: `+0x` and OOPS lines, ignored ones included.
    first = [i for i in sorted(flags.keys() | {i for i, line in enumerate(lines) if "+0x" in line})
             if "+0x" in lines[i] or flags[i] & _OOPS and OOPS.search(lines[i])]
    kept = set(binary_cut([lines[i] for i in first]))
    return {i for k, i in enumerate(first) if k not in kept}


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


class _Walk:
    """§3.4-3.5 over the selected lines, in file order. Positions are 2*i for line i and 2*i+1 for
    the lockdep line made from it (§3.3), which comes right after it."""

    def __init__(self, lines: list[str], flags: dict[int, int], dropped: set[int]) -> None:
        self.lines, self.flags, self.dropped = lines, flags, dropped
        self.table: dict[str, str] = {}
        self.oom = False
        self.reset = -1  # position of the last common-context frame: no previous frame up to it
        self.enriched_frames: dict[int, str] = {}

    def is_frame(self, i: int) -> bool:
        """Line i is a selected frame line (§3.4-2) other than a `?` one."""
        line = self.lines[i]
        if "+0x" not in line or " ? " in line or i in self.dropped:
            return False
        f = self.flags.get(i, 0)
        return not (f & _OOPS and OOPS.search(line)) and not (f & _IGNORE and OOPS_IGNORE.search(line))

    def previous(self, position: int) -> str | None:
        """The frame that §3.4-2 remembers just before `position`."""
        for p in range(position - 1, self.reset, -1):
            if p % 2:
                if p // 2 in self.enriched_frames:
                    return self.enriched_frames[p // 2]
            elif self.is_frame(p // 2):
                return self.lines[p // 2]
        return None

    def calltrace(self, frame: str | None) -> None:  # §3.5
        if frame is None or self.oom or CALLTRACE_IGNORE.search(frame):
            return
        m = FRAME_NAME.search(frame)
        if m:
            self.table.setdefault("calltrace:" + m.group(1), frame)

    def line(self, position: int, line: str, m: re.Match[str] | None) -> None:
        if m is not None:  # §3.4-1 oops line
            self.table.setdefault(m.group(0), line)
            if OOM_FLAG.search(line):
                self.oom = True
        elif "+0x" in line and " ? " not in line:  # §3.4-2 frame line
            if CALLTRACE.search(line):
                if "SyS_" not in line:
                    self.calltrace(self.previous(position))
                self.calltrace(line)
                self.reset = position
            elif position % 2:
                self.enriched_frames[position // 2] = line


def candidates(lines: list[str], text: str | None = None) -> dict[str, str]:
    """The insertion-ordered candidate table {raw key: line} of dmesg mode (§3.6).

    Selected lines with invalid UTF-8 are dropped (§3.2), so the repair of §A.4 never has work here."""
    text = "\n".join(lines) if text is None else text
    flags = word_flags(lines, text)
    dropped = grep_dropped(lines, flags) if INVALID in text or "\x00" in text else set()
    walk = _Walk(lines, flags, dropped)
    same: dict[str, list[int]] | None = None
    for i in sorted(flags):
        if i in dropped:
            continue
        line = lines[i]
        ok, m = _selected(line, flags[i])
        if not ok:
            continue
        walk.line(2 * i, line, m)
        if flags[i] & _LOCKDEP:
            if same is None:
                # The lookup grep has no `-a` either: a NUL hides the lines from its chunk on.
                visible = set(binary_cut(lines)) if "\x00" in text else None
                same = {}
                for n, other in enumerate(lines):
                    if any(h in other for h in _LOCKDEP_HEADS) and (visible is None or n in visible):
                        same.setdefault(other, []).append(n)
            enriched = lockdep_line(line, lines, same)
            if enriched is not None:
                walk.line(2 * i + 1, enriched, OOPS.search(enriched))
    return walk.table
