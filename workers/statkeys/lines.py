"""A fast lookup of the lines of a log holding given words (used by the stat keys and the parser).

Crash heads are rare: instead of running the head patterns on every line, each pattern has an
anchor word and `lines_with` finds the lines holding any of them in one Aho-Corasick pass over
the whole text (ahocorasick_rs, compiled code), so only those lines reach the regexes.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate

import ahocorasick_rs


@lru_cache(maxsize=64)
def _automaton(words: tuple[str, ...]) -> ahocorasick_rs.AhoCorasick:
    # The DFA scans twice as fast as the default NFA; its larger build is paid once per word list.
    return ahocorasick_rs.AhoCorasick(list(words), implementation=ahocorasick_rs.Implementation.DFA)


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


def line_flags(text: str, words: tuple[str, ...], flags: tuple[int, ...]) -> dict[int, int]:
    """{line index: OR of the flags of the words it contains} for the lines of `text` holding any
    of `words` (flags[i] belongs to words[i]). Overlapping matches count, so no word hides another."""
    out: dict[int, int] = {}
    try:
        matches = _automaton(words).find_matches_as_indexes(text, overlapping=True)
    except UnicodeEncodeError:  # lone surrogates: test each line
        for n, line in enumerate(text.split("\n")):
            f = 0
            for w, flag in zip(words, flags, strict=True):
                if w in line:
                    f |= flag
            if f:
                out[n] = f
        return out
    n = last = 0
    get = out.get
    for w, start, _ in matches:
        if start > last:
            n += text.count("\n", last, start)
            last = start
        out[n] = get(n, 0) | flags[w]
    return out
