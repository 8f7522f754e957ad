"""Title and report regexes must stay linear on crafted lines (the cost itself is measured by bench/parse.py)."""

import re

from workers.parser import parse_log
from workers.parser.kinds import OOPSES

_ATOMIC = re.compile(r"\(\?>[^()]*\)")
_TRAILING_ANY = re.compile(r"\(?\.\*\)?$")
_GREEDY_ANY = re.compile(r"\.\*(?!\?)")


def test_no_title_regex_has_two_backtracking_wildcards_in_one_branch():
    # `X.*A.*B` backtracks over every A for every start: quadratic (cubic with three) on a long line.
    # An atomic lazy prefix `(?>.*?A).*B` gives the same yes/no answer in linear time.
    bad = []
    for oops in OOPSES:
        for fmt in oops.formats:
            pattern = fmt.title.pattern
            if "\\n" in pattern:
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
    for oops in OOPSES:
        for fmt in oops.formats:
            patterns += [fmt.title.pattern] + ([fmt.report.pattern] if fmt.report is not None else [])
    return patterns


def test_multiline_gaps_are_bounded():
    # Two unbounded lazy gaps retry the second one from every line the first could end on.
    assert [p for p in _all_patterns() if "(?:.*\\n)+?" in p or "(?:.*\\n)*?" in p] == []


def test_kasan_report_followed_by_header_lookalikes_keeps_its_title():
    log = ("[  1.0] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2\n"
           "[  1.0] Read of size 8 at addr ffff888000000000 by task a/1\n"
           "[  1.0] Call Trace:\n[  1.0]  foo+0x1/0x2\n[  1.0]  bar+0x1/0x2\n"
           + "[  1.0] DEBUG: BUG: KASAN: a in f. " + "x" * 1900 + "\n") * 1 + (
           "[  1.0] DEBUG: BUG: KASAN: a in f. " + "x" * 1900 + "\n") * 200
    assert parse_log(log).reports[0].title == "KASAN: slab-out-of-bounds Read in foo"
