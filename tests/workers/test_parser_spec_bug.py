"""syzkaller's reporter, spec §14.1 (group `BUG:`), §14.3 (group `INFO:`) and the frame engine they
use (§6 extraction and demangling, §7 skips, §8 extractors), pinned with synthetic logs in the
kernel's shapes, written from ../shared/reference/syzkaller-report-rules.md."""

import textwrap

import pytest

from workers.parser import parse_log
from workers.parser.demangle import demangle


def log(text: str, prefix: str = "[  100.123456][ T4242] ") -> str:
    lines = textwrap.dedent(text).strip("\n").split("\n")
    return "".join(prefix + line + "\n" for line in lines)


def first(text: str):
    reports = parse_log(text).reports
    assert reports, "no report"
    return reports[0]


# --- §6.6 demangling ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mangled, name", [
    # Generic arguments read `::<...>` in a value path but `<...>` inside a type.
    ("_RINvNtCs1234_4core3ptr13drop_in_placeINtNtCs9_5alloc5boxed3BoxNtCs5678_6kernel5ErrorEE",
     "core::ptr::drop_in_place::<alloc::boxed::Box<kernel::Error>>"),
    ("_RNvMNtCs1234_6kernel4syncINtB2_4LockjE4lock", "<kernel::sync::Lock<usize>>::lock"),
    ("_RNvXs0_NtCs1234_6kernel4syncINtB5_4LockjENtNtCs9_4core3ops4Drop4drop",
     "<kernel::sync::Lock<usize> as core::ops::Drop>::drop"),
    # A dyn bound's associated types join its generic arguments.
    ("_RINvNtCs1234_4core3ptr13drop_in_placeINtNtCs9_5alloc5boxed3BoxDINtNtCs9_4core3ops6FnOnceTEEp6OutputuEL_EEE",
     "core::ptr::drop_in_place::<alloc::boxed::Box<dyn core::ops::FnOnce<(), Output = ()>>>"),
    ("_RNCNvNtCs1234_6kernel4sync4wait0", "kernel::sync::wait::{closure#0}"),
])
def test_rust_v0_demangling(mangled, name):
    assert demangle(mangled) == name


# --- §5.2 step 4 / §6.1: the stack rule reads W from the match on ----------------------------------------

def test_text_before_the_header_on_its_line_is_not_a_frame():
    # KMSAN's rule collects from the header line itself; interleaved output before the header on that
    # line ("foo.0.1 ..." is frame-shaped) is not part of the text the rule reads.
    text = log("""
        syz.0.12 exited BUG: KMSAN: uninit-value in check_fn+0x1/0x2
         check_fn+0x1/0x2
         caller_fn+0x1/0x2

        Uninit was created at:
         __kmalloc+0x1/0x2
         origin_fn+0x1/0x2
        """)
    report = first(text)
    assert report.title == "KMSAN: uninit-value in check_fn"
    assert not report.corrupted
