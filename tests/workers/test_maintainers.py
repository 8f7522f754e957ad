"""MAINTAINERS matching as scripts/get_maintainer.pl does it, on a small synthetic file."""

from __future__ import annotations

from pathlib import Path

from workers.maintainers import Maintainers, file_from_text, file_matches, parse

TEXT = (Path(__file__).parents[1] / "fixtures" / "maintainers" / "MAINTAINERS").read_text()


def names(path: str, content: str = "") -> list[str]:
    return [m.section.name for m in Maintainers(TEXT).for_file(path, content)]


def test_sections_are_parsed_with_their_people_lists_and_patterns():
    sections = {s.name: s for s in parse(TEXT)}
    assert set(sections) == {"LKDTM", "MISC DRIVERS", "SLAB ALLOCATOR", "MEMORY MANAGEMENT", "KASAN", "THE REST"}
    slab = sections["SLAB ALLOCATOR"]
    assert slab.maintainers == ["Vlastimil Example <vbabka@example.org>"]
    assert slab.reviewers == ["Roman Example <roman@example.org>"]
    assert slab.lists == ["linux-mm@lists.example.org"] and slab.files == ["mm/sl?b*", "include/linux/slab.h"]


def test_the_most_specific_section_comes_first_and_the_rest_last():
    assert names("drivers/misc/lkdtm/bugs.c") == ["LKDTM", "MISC DRIVERS", "THE REST"]
    assert names("mm/slub.c") == ["SLAB ALLOCATOR", "MEMORY MANAGEMENT", "THE REST"]


def test_globs_stay_at_their_depth_and_directories_recurse():
    assert file_matches("drivers/misc/lkdtm/bugs.c", "drivers/misc/lkdtm/*")
    assert not file_matches("drivers/misc/lkdtm/sub/x.c", "drivers/misc/lkdtm/*")
    assert file_matches("drivers/misc/lkdtm/sub/x.c", "drivers/misc/")
    assert names("drivers/misc/lkdtm/sub/x.c")[0] == "MISC DRIVERS"


def test_x_excludes_a_section_and_n_and_k_match_by_regex():
    assert "MISC DRIVERS" not in names("drivers/misc/private/secret.c")
    assert names("mm/kasan/report.c")[0] == "KASAN"
    assert "KASAN" in names("lib/test_kasan_module.c")  # N: kasan
    assert "KASAN" in names("lib/other.c", content="kasan_report __asan_load8")  # K:
    assert "KASAN" not in names("lib/other.c", content="vfs_write")


def test_file_from_bug_and_warning_lines():
    assert file_from_text(["[    6.04] kernel BUG at drivers/misc/lkdtm/bugs.c:105!"]) == "drivers/misc/lkdtm/bugs.c"
    assert file_from_text(["[ 6.9] WARNING: CPU: 1 PID: 50 at drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING+0xa/0x10"]) \
        == "drivers/misc/lkdtm/bugs.c"
    assert file_from_text(["BUG: KASAN: slab-use-after-free in foo"]) is None
