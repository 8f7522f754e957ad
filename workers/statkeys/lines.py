"""Console lines after lkp's `fixup_dmesg`, with a fast lookup of the lines holding given words.

Crash heads are rare: instead of running the head patterns on every line, each pattern has an
anchor word and `Log.lines_with` finds the lines holding any of them with `str.find` over the
whole text (C speed), so only those lines reach the regexes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

# Longer lines are cut: no report head is that long, and it bounds the work of every regex.
MAX_LINE = 2048

_CR = re.compile(r"[^\n]*\r(?!\n|$)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
_INLINE_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+\+0x")
# lkp splits a line where a second printk record starts in the middle of it (`(.+)(\[ts\] )(.*)`,
# so at the last such timestamp). The lookbehind after the literal `[` keeps the regex's fast
# literal scan while skipping timestamps that start a line.
_INNER_TIMESTAMP = re.compile(r"\[(?<=[^\n]\[) *[0-9]{1,6}\.[0-9]{6}\] ")
# ...but not after a kmsg level / facility prefix, which belongs to the record itself.
_RECORD_PREFIX = re.compile(r"(?:<\d+>|\d+,\d+,\d+,[^;]*;|[a-z]+\d? *: *[a-z]+ *: )")


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
        self._starts: list[int] | None = None

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
        if self._starts is None:
            self._starts = [0, *accumulate(len(line) + 1 for line in self.lines)]
        text, starts, found = self.text, self._starts, set()
        for word in words:
            pos = text.find(word)
            while pos >= 0:
                i = bisect_right(starts, pos) - 1
                found.add(i)
                pos = text.find(word, starts[i + 1]) if i + 1 < len(starts) else -1
        return sorted(found)
