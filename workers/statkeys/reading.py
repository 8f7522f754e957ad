"""Stage A: the log's lines as the robot reads and rewrites them (spec §2, §0.2), both modes.

`read_lines(text)` splits on LF only and chomps (§A.2), then applies the per-line fix-ups of §A.3
in order: the two kbuild path removals, the first `.isra.N+0x`-style suffix, and the split of a
line where a second printk record starts in its middle. The result is the rewritten file every
later stage reads. `decode` marks each invalid UTF-8 sequence with `INVALID`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# One invalid UTF-8 sequence (§0.2-10), which the robot's greps drop (§3.2) and its repair turns into
# `_`. A noncharacter rather than U+FFFD, which a log may hold as valid text (the robot keeps it).
INVALID = "\ufdd0"


def _mark_invalid(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return INVALID, error.end


codecs.register_error("statkeys.invalid", _mark_invalid)


def decode(data: bytes | str) -> str:
    """Text of a log: bytes decode with one `INVALID` per maximal invalid sequence (like
    errors="replace"); text that was already decoded with errors="replace" has U+FFFD there."""
    if isinstance(data, bytes):
        return data.decode("utf-8", "statkeys.invalid")
    return data.replace("\ufffd", INVALID) if "\ufffd" in data else data

_KBUILD = re.compile(r"/kbuild/src/[^/]+/")  # A.3-1
_TMP_KBUILD = re.compile(r"/tmp/kbuild/src/[^/]+/")  # A.3-2 (dead after A.3-1, kept for order)
_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+\+0x")  # A.3-3
# A.3-4: a line with its own record prefix stays whole...
_OWN_PREFIX = re.compile(r"<[0-9]>|(?:kern  |user  |daemon):.{6}: ")
# ...any other is split at its last `[ts] ` that is not at position 0 (the lookbehind keeps the fast
# literal scan of `[` while refusing a timestamp that starts a line).
_INNER_TIMESTAMP = re.compile(r"\[(?<=[^\n]\[) *[0-9]{1,6}\.[0-9]{6}\] ")
# Not in the spec: longer lines are cut here, so that no pattern with two `ANY*` works on a huge
# line; the kernel prints at most 1 KiB per record, so only binary junk is that long.
MAX_LINE = 2048
_CONTROL = re.compile("[\x01-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def chomp(line: str) -> str:
    """§0.2-9: one trailing CRLF, else LF, else CR."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def repair(text: str) -> str:
    """§0.2-10: each invalid UTF-8 sequence becomes `_`."""
    return text.replace(INVALID, "_") if INVALID in text else text


def is_printable(line: str) -> bool:
    """§0.2-7 plus §5-6's allowances: TAB, LF and NUL pass; controls, U+2028/9 and unassigned
    code points do not (unlike `str.isprintable`, format and non-ASCII spaces pass)."""
    if _CONTROL.search(line):
        return False
    return line.isascii() or all(unicodedata.category(c) != "Cn" for c in line if ord(c) > 0x7f)


def read_lines(text: str) -> list[str]:
    """The rewritten file of §A.2-A.3: one element per output line (split lines are two)."""
    return read(text)[0]


def read(text: str) -> tuple[list[str], str]:
    """(`read_lines(text)`, the same lines joined with LF)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # A.2-2: chomp every LF-ended line
    if text.endswith("\n"):
        text = text[:-1]
    elif text.endswith("\r"):
        text = text[:-1]  # A.2-3: a last line without LF is chomped the same way
    if "/kbuild/src/" in text:
        text = "\n".join(_TMP_KBUILD.sub("", _KBUILD.sub("", line, count=1), count=1) for line in text.split("\n"))
    if "+0x" in text and ("isra." in text or "constprop." in text or "part." in text):
        text = _first_suffix_per_line(text)
    if "] " in text:
        text = _split_mixed(text)
    lines = text.split("\n") if text else []
    if len(text) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
        lines = [line[:MAX_LINE] for line in lines]
        text = "\n".join(lines)
    return lines, text


def _first_suffix_per_line(text: str) -> str:
    """A.3-3 on every line at once: only the first `.isra.N+0x`-style suffix of a line goes."""
    parts, last, line_start = [], 0, -1
    for m in _SUFFIX.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        if start == line_start:
            continue
        line_start = start
        parts += [text[last:m.start()], "+0x"]
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)


def _split_mixed(text: str) -> str:
    """A.3-4: one split per line, at the last inner `[ts] `, unless the line has its own prefix."""
    cuts: dict[int, int] = {}  # line start -> position of its last inner timestamp
    for m in _INNER_TIMESTAMP.finditer(text):
        cuts[text.rfind("\n", 0, m.start()) + 1] = m.start()
    if not cuts:
        return text
    parts, last = [], 0
    for start, cut in cuts.items():
        if _OWN_PREFIX.match(text, start):
            continue
        parts += [text[last:cut], "\n"]
        last = cut
    parts.append(text[last:])
    return "".join(parts)
