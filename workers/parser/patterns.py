"""The spec's pattern tokens (§0) and the matchers the catalogue's patterns compile to.

Patterns use the spec's tokens, expanded by `rx`: {PC} a bracketed address, {FUNC} a captured symbol
followed by "." or "+", {FUNC:name} the same as a named capture, {SRC} a captured file:line, {TASK} up
to 100 characters across lines, {LINES} a lazy skip to a later line (a `MultiLine`, matched in linear
time). A FIND step of a stack rule is a `Find`: a one-line pattern tried only on lines holding one of
its literal hints.
"""

from __future__ import annotations

import re

# §0 tokens.
PC = r"\[<?(?:0x)?[0-9a-f]+>?\]"
FUNC = r"([a-zA-Z0-9_]+)(?:\.|\+)"
SRC = r"([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)"
TASK = r"(?s:.{0,100}?)"
LINES = r"(?:.*\n)+?"
WS_TO_END = r"[ \t\n\v\f\r]*(?:\n|\Z)"  # §14 1.36/2.29/3.12: only whitespace to a newline or the end
_NAMED_FUNC = re.compile(r"\{FUNC:(\w+)\}")


def _expand(pattern: str) -> str:
    pattern = _NAMED_FUNC.sub(r"(?P<\1>[a-zA-Z0-9_]+)(?:\\.|\\+)", pattern)
    for token, value in (("{PC}", PC), ("{FUNC}", FUNC), ("{SRC}", SRC), ("{TASK}", TASK),
                         ("{WS_TO_END}", WS_TO_END)):
        pattern = pattern.replace(token, value)
    return pattern


def rx(pattern: str) -> re.Pattern[str] | MultiLine:
    """Compile a pattern written with the spec's tokens (ASCII classes, as in the original, §17)."""
    if "{LINES}" in pattern:
        return MultiLine(pattern)
    return re.compile(_expand(pattern), re.A)


class MultiLineMatch:
    def __init__(self, start: int, groups: dict[str, str | None], positional: list[str | None]) -> None:
        self._start = start
        self._groups = groups
        self._positional = positional

    def start(self) -> int:
        return self._start

    def groupdict(self) -> dict[str, str | None]:
        return self._groups

    def groups(self) -> tuple[str | None, ...]:
        return tuple(self._positional)


class MultiLine:
    """A pattern with {LINES} gaps, `A{LINES}.*B{LINES}.*C`, matched in linear time.

    Python's backtracking would retry every gap length for every earlier choice (quadratic or
    worse when the last piece is missing). Because no piece crosses a line end, the leftmost-first
    match is found greedily: A's leftmost match, then the first later line where B matches from the
    line start, then the first line after that where C does; if a piece finds no line, no later
    choice can succeed either (it would leave fewer lines), so the pattern does not match.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        pieces = pattern.split("{LINES}")
        self.pieces = [re.compile(_expand(p), re.A) for p in pieces]

    def search(self, text: str, pos: int = 0) -> MultiLineMatch | None:
        first = self.pieces[0].search(text, pos)
        if first is None:
            return None
        groups: dict[str, str | None] = dict(first.groupdict())
        positional = list(first.groups())
        end = first.end()
        for piece in self.pieces[1:]:
            at = text.find("\n", end)  # the rest of the current line and its newline
            m = None
            while at >= 0:
                m = piece.match(text, at + 1)
                if m is not None:
                    break
                at = text.find("\n", at + 1)
            if m is None:
                return None
            groups.update(m.groupdict())
            positional += m.groups()
            end = m.end()
        return MultiLineMatch(first.start(), groups, positional)


COLLECT = None  # §6.5 step: collect frames up to the next stack start (a FIND step is a `Find`)


_META = set("\\.^$*+?{}[]()|")


def _literal_prefix(pattern: str) -> str:
    out = []
    for c in pattern:
        if c in _META:
            break
        out.append(c)
    literal = "".join(out)
    # A quantifier after the prefix may make its last character optional.
    return literal[:-1] if len(literal) < len(pattern) and pattern[len(literal)] in "*?{" else literal


def _top_branches(pattern: str) -> list[str]:
    """The alternatives of a pattern at nesting depth 0 (a pattern that is one group is unwrapped)."""
    depth, out, cur, k = 0, [], [], 0
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            cur.append(pattern[k:k + 2])
            k += 2
            continue
        depth += c in "([" and 1 or 0
        depth -= c in ")]" and 1 or 0
        if c == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        k += 1
    out.append("".join(cur))
    if len(out) == 1 and out[0].startswith("(") and out[0].endswith(")") and _top_branches(out[0][1:-1]) != [
            out[0][1:-1]]:
        return _top_branches(out[0][1:-1])
    return out


class Find:
    """A FIND step (§6.5): a one-line pattern and literals one of which every match contains, so
    that the text is scanned with str.find and the regex runs on candidate lines only."""

    def __init__(self, pattern: str, hints: tuple[str, ...] = ()) -> None:
        self.regex = rx(pattern)
        if not hints:
            hints = tuple(_literal_prefix(b) for b in _top_branches(self.regex.pattern))
            assert all(hints), f"give the hints of {pattern!r}"
        self.hints = hints

    def search(self, line: str):
        return self.regex.search(line) if any(h in line for h in self.hints) else None

    def search_text(self, text: str, pos: int, end: int):
        """The first match in text[pos:end] (whole lines; no match crosses a line end)."""
        while pos < end:
            at = min((a for a in (text.find(h, pos, end) for h in self.hints) if a >= 0), default=-1)
            if at < 0:
                return None
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            m = self.regex.search(text, max(line_start, pos), line_end)
            if m is not None:
                return m
            pos = line_end + 1
        return None
