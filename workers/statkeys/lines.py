"""Console lines after lkp's `fixup_dmesg`, with a fast lookup of the lines holding given words.

Crash heads are rare: instead of running the head patterns on every line, each pattern has an
anchor word and `Log.lines_with` finds the lines holding any of them in one Aho-Corasick pass over
the whole text (ahocorasick_rs, compiled code), so only those lines reach the regexes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate

import ahocorasick_rs

# Longer lines are cut: no report head is that long, and it bounds the work of every regex.
MAX_LINE = 2048

# A line up to its last CR that text follows (the terminal overwrote it). Anchored at line starts: the
# unanchored form retried every position of a line and was quadratic in the line's length.
_CR = re.compile(r"^[^\n]*\r(?=[^\n])", re.M)
# Terminal escapes: CSI (`ESC [ 0 m`), character-set selection (`ESC ( B`, part of xterm's sgr0)
# and OSC strings (window titles) ended by BEL or ST. None of them crosses a line: an unterminated
# OSC is left alone rather than eating the lines after it.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[()*+][0-9A-Za-z]|\][^\x07\x1b\n]*(?:\x07|\x1b\\))")
_INLINE_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+\+0x")
# lkp splits a line where a second printk record starts in the middle of it (`(.+)(\[ts\] )(.*)`,
# so at the last such timestamp). The lookbehind after the literal `[` keeps the regex's fast
# literal scan while skipping timestamps that start a line.
_INNER_TIMESTAMP = re.compile(r"\[(?<=[^\n]\[) *[0-9]{1,6}\.[0-9]{6}\] ")
# ...but not after a kmsg level / facility prefix, which belongs to the record itself.
_RECORD_PREFIX = re.compile(r"(?:<\d+>|\d+,\d+,\d+,[^;]*;|[a-z]+\d? *: *[a-z]+ *: )")


@lru_cache(maxsize=64)
def _automaton(words: tuple[str, ...]) -> ahocorasick_rs.AhoCorasick:
    return ahocorasick_rs.AhoCorasick(list(words))


def lines_with(text: str, words: tuple[str, ...]) -> list[int]:
    """Sorted indexes of the lines of `text` (split on "\\n") that contain at least one of `words`.

    One Aho-Corasick pass finds every word at once (a `str.find` scan per word costs a pass each).
    Its matches do not overlap, but a line holding a word always gets one: words have no newline.
    """
    words = tuple(w for w in words if w)
    if not words:
        return []
    try:
        matches = _automaton(words).find_matches_as_indexes(text)
    except UnicodeEncodeError:  # lone surrogates (text decoded with surrogateescape): find per word
        return _lines_with_find(text, words)
    found: list[int] = []
    n = last = 0
    for _, start, _ in matches:
        n += text.count("\n", last, start)
        last = start
        if not found or found[-1] != n:
            found.append(n)
    return found


def _lines_with_find(text: str, words: tuple[str, ...]) -> list[int]:
    starts = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]
    found = set()
    for word in words:
        pos = text.find(word)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            found.add(i)
            pos = text.find(word, starts[i + 1]) if i + 1 < len(starts) else -1
    return sorted(found)


class Log:
    """The lines of a log and a word index over them."""

    def __init__(self, text: str) -> None:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = _CR.sub("", text).replace("\r", "")  # an overwritten line keeps its last version
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        if "\x00" in text:
            text = text.replace("\x00", "")
        if len(text) > MAX_LINE and max(map(len, text.split("\n"))) > MAX_LINE:
            text = "\n".join(line[:MAX_LINE] for line in text.split("\n"))
        if "+0x" in text:
            text = _INLINE_SUFFIX.sub("+0x", text)
        if "] " in text:
            text = self._split_mixed(text)
        self.text = text
        self.lines = text.split("\n")

    @staticmethod
    def _split_mixed(text: str) -> str:
        cuts: dict[int, int] = {}  # line start -> position of its last inner timestamp
        for m in _INNER_TIMESTAMP.finditer(text):
            cuts[text.rfind("\n", 0, m.start()) + 1] = m.start()
        if not cuts:
            return text
        parts, last = [], 0
        for start, cut in cuts.items():
            if _RECORD_PREFIX.fullmatch(text, start, cut):
                continue
            parts += [text[last:cut], "\n"]
            last = cut
        parts.append(text[last:])
        return "".join(parts)

    def lines_with(self, words: Iterable[str]) -> list[int]:
        """Sorted indexes of the lines that contain at least one of `words`."""
        return lines_with(self.text, tuple(words))

    def lines_containing(self, word: str) -> list[int]:
        """`lines_with((word,))` for a word on many lines (`+0x` of frames): one `in` test per line
        costs less than a find and a bisect per hit."""
        return [i for i, line in enumerate(self.lines) if word in line]
