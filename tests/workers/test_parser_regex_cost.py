"""Title and report regexes must stay linear on crafted lines (the cost itself is measured by bench/parse.py)."""

import re

from workers.parser import parse_log
from workers.parser.catalogue import GROUPS, MultiLine

_ATOMIC = re.compile(r"\(\?>[^()]*\)")
_TRAILING_ANY = re.compile(r"\(?\.\*\)?$")
_GREEDY_ANY = re.compile(r"\.\*(?!\?)")


def test_no_title_regex_has_two_backtracking_wildcards_in_one_branch():
    # `X.*A.*B` backtracks over every A for every start: quadratic (cubic with three) on a long line.
    # An atomic lazy prefix `(?>.*?A).*B` gives the same yes/no answer in linear time.
    bad = []
    for group in GROUPS:
        for fmt in group.formats:
            pattern = fmt.title.pattern
            if "{LINES}" in pattern:
                continue
            for branch in _ATOMIC.sub("", pattern).split("|"):
                branch = _TRAILING_ANY.sub("", branch)  # a final `(.*)` has nothing after it to retry
                if len(_GREEDY_ANY.findall(branch)) > 1:
                    bad.append(pattern)
    assert bad == []


def test_kmalloc_warning_title_still_matches():
    log = ("[  1.0] WARNING: CPU: 0 PID: 1 at mm/slab_common.c:10 kmalloc_slab+0x1/0x2\n"
           "[  1.0] RIP: 0010:kmalloc_slab+0x1/0x2\n[  1.0] Call Trace:\n"
           "[  1.0]  __kmalloc+0x1/0x2\n[  1.0]  guilty+0x1/0x2\n[  1.0]  caller+0x1/0x2\n")
    assert parse_log(log).reports[0].title == "WARNING: kmalloc bug in guilty"


def test_long_line_of_mm_paths_is_parsed():
    log = "[  1.0] WARNING: " + "mm/.c " * 300 + "\n"
    assert parse_log(log).reports[0].title.startswith("WARNING: ")


def _all_patterns() -> list[str]:
    patterns = []
    for group in GROUPS:
        for fmt in group.formats:
            patterns += [fmt.title.pattern] + ([fmt.report.pattern] if fmt.report is not None else [])
    return patterns


def test_line_gaps_are_matched_piecewise_not_by_backtracking():
    # Two lazy gaps retry the second one from every line the first could end on: every pattern with
    # a line gap must be a MultiLine (linear), no compiled regex may hold one.
    compiled = [p for p in _all_patterns() if "\\n)+?" in p or "\\n)*?" in p]
    assert compiled == []
    multi = [f for g in GROUPS for f in g.formats if isinstance(f.report, MultiLine) or isinstance(f.title, MultiLine)]
    assert len(multi) >= 15


def test_multiline_match_takes_the_first_line_of_each_piece():
    pattern = MultiLine(r"A (?P<a>\w+){LINES}.*B (?P<b>\w+){LINES}.*C (?P<c>\w+)")
    m = pattern.search("x\nA one\nB two\nnoise\nB three\nC four C five\n")
    assert m is not None and m.groupdict() == {"a": "one", "b": "two", "c": "five"} and m.start() == 2
    assert pattern.search("A one\nC four\nB two\n") is None


def test_kasan_report_followed_by_header_lookalikes_keeps_its_title():
    log = ("[  1.0] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2\n"
           "[  1.0] Read of size 8 at addr ffff888000000000 by task a/1\n"
           "[  1.0] Call Trace:\n[  1.0]  foo+0x1/0x2\n[  1.0]  bar+0x1/0x2\n"
           + "[  1.0] DEBUG: BUG: KASAN: a in f. " + "x" * 1900 + "\n") * 1 + (
           "[  1.0] DEBUG: BUG: KASAN: a in f. " + "x" * 1900 + "\n") * 200
    assert parse_log(log).reports[0].title == "KASAN: slab-out-of-bounds Read in foo"
