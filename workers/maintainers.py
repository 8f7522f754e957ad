"""The kernel's MAINTAINERS file: which subsystems, maintainers and lists a source file belongs to.

Matching follows scripts/get_maintainer.pl: a section is excluded by any `X:` pattern matching the
file; `F:` patterns ending in "/" match everything below the directory, other patterns (with `*` and
`?` globs) only files at their own depth; `N:` is a regular expression over the path; `K:` a regular
expression over the content (here: the crash's title and functions). Sections are ordered most
specific first: by the depth of the matching `F:` pattern (its "/" count, +1 when it names a file or a
glob), `N:` and `K:` matches last, as get_maintainer.pl sorts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ENTRY = re.compile(r"^([A-Z]):\s*(.*?)\s*$")


@dataclass
class Section:
    name: str
    status: str = ""
    maintainers: list[str] = field(default_factory=list)  # M:
    reviewers: list[str] = field(default_factory=list)  # R:
    lists: list[str] = field(default_factory=list)  # L:
    files: list[str] = field(default_factory=list)  # F:
    excludes: list[str] = field(default_factory=list)  # X:
    name_regexes: list[str] = field(default_factory=list)  # N:
    keywords: list[str] = field(default_factory=list)  # K:
    trees: list[str] = field(default_factory=list)  # T:
    web: list[str] = field(default_factory=list)  # W:

    @property
    def is_catch_all(self) -> bool:
        return self.name == "THE REST"


@dataclass
class Match:
    section: Section
    depth: int  # how specific: larger first
    how: str  # "F: mm/slub.c", "N: ...", "K: ..."

    def to_dict(self) -> dict:
        s = self.section
        return {"name": s.name, "status": s.status, "maintainers": s.maintainers, "reviewers": s.reviewers,
                "lists": s.lists, "how": self.how, "depth": self.depth}


def parse(text: str) -> list[Section]:
    """Sections of a MAINTAINERS file: a title line followed by `X:\\tvalue` lines."""
    sections: list[Section] = []
    current: Section | None = None
    for line in text.splitlines():
        entry = ENTRY.match(line)
        if entry and current is not None:
            kind, value = entry.groups()
            target = {"M": current.maintainers, "R": current.reviewers, "L": current.lists, "F": current.files,
                      "X": current.excludes, "N": current.name_regexes, "K": current.keywords,
                      "T": current.trees, "W": current.web}.get(kind)
            if kind == "S":
                current.status = value
            elif target is not None and value:
                target.append(value)
        elif line.strip() and not line.startswith((" ", "\t")) and not entry:
            current = Section(line.strip())
            sections.append(current)
        elif not line.strip():
            current = current if current is not None and not (current.files or current.maintainers) else None
    return [s for s in sections if s.files or s.name_regexes or s.keywords]


def _pattern_regex(pattern: str) -> re.Pattern:
    escaped = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile("^" + escaped)


def file_matches(path: str, pattern: str) -> bool:
    """get_maintainer.pl's file_match_pattern: directories recurse, files and globs stay at their depth."""
    if not _pattern_regex(pattern).match(path):
        return False
    return pattern.endswith("/") or path.count("/") == pattern.count("/")


def pattern_depth(pattern: str) -> int:
    if pattern.startswith("*"):
        return -1
    return pattern.count("/") + (0 if pattern.endswith("/") else 1)


class Maintainers:
    """A parsed MAINTAINERS file, queried per source file."""

    def __init__(self, text: str):
        self.sections = parse(text)

    def for_file(self, path: str, content: str = "") -> list[Match]:
        path = path.lstrip("./")
        found: list[Match] = []
        for section in self.sections:
            if any(file_matches(path, x) for x in section.excludes):
                continue
            best: Match | None = None
            for pattern in section.files:
                if file_matches(path, pattern):
                    depth = pattern_depth(pattern)
                    if best is None or depth > best.depth:
                        best = Match(section, depth, f"F: {pattern}")
            if best is None:
                for regex in section.name_regexes:
                    try:
                        if re.search(regex, path, re.X):
                            best = Match(section, 0, f"N: {regex}")
                            break
                    except re.error:
                        continue
            if best is None and content:
                for regex in section.keywords:
                    try:
                        if re.search(regex, content, re.X):
                            best = Match(section, 0, f"K: {regex}")
                            break
                    except re.error:
                        continue
            if best is not None:
                found.append(best)
        found.sort(key=lambda m: (-m.depth, m.section.is_catch_all, m.section.name))
        return found


FILE_LINE = re.compile(r"(?:kernel BUG at |WARNING: .*? at |WARNING: at )([\w./+-]+\.[chS]):\d+")


def file_from_text(lines: list[str]) -> str | None:
    """`kernel BUG at mm/slub.c:123!` or `WARNING: CPU: 0 PID: 1 at fs/ext4/inode.c:12 ...`: the file."""
    for line in lines:
        found = FILE_LINE.search(line)
        if found:
            return found.group(1)
    return None
