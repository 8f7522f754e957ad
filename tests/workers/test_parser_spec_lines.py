"""syzkaller's reporter, spec §2 (console lines) and §3 (oops lines), pinned with synthetic lines written
from ../shared/reference/syzkaller-report-rules.md (none copied from a corpus)."""

import pytest

from workers.parser import parse_log
from workers.parser.console import context_of, oops_group, strip


def titles(log: str) -> list[str]:
    return [r.title for r in parse_log(log).reports]


# --- §2.2 contexts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("line, ctx", [
    ("plain text", ""),
    ("[   12.345678] msg", "console"),
    ("[   12.345678][ T1234] msg", "[ T1234]"),
    ("[   12.345678][  C0] msg", "[  C0]"),
    ("<6>[   1.5] msg", "console"),
    ("** 3 printk messages dropped ** [   1.5] msg", "console"),
    ("host login: [   1.5][ T7] msg", "[ T7]"),
    ("[   12.345678]msg", ""),  # exactly one space must follow the prefix
    ("x [   1.5] msg", ""),  # the prefix must start the line
])
def test_context_of_a_line(line, ctx):
    assert context_of(line)[0] == ctx


# --- §2.3 stripping and questionable lines -----------------------------------------------------------

def test_strip_removes_through_the_first_bracket_space():
    assert strip("[   1.0][ T1] msg] with] brackets") == ("msg] with] brackets", False)


def test_any_line_with_space_question_space_is_questionable():
    assert strip("[   1.0]  ? helper+0x1/0x2") == (" helper+0x1/0x2", True)
    assert strip("[   1.0] what ? no") == (" no", True)  # not only frames


def test_eoi_lines_keep_their_question_marks():
    assert strip("[   1.0]  <EOI> ? x+0x1/0x2") == (" <EOI> ? x+0x1/0x2", False)


def test_powerpc_unreliable_suffix_is_questionable():
    assert strip("[   1.0] [c0000001] [c0000002] foo+0x1/0x2 (unreliable)") == (
        "[c0000001] [c0000002] foo+0x1/0x2", True)


def test_questionable_frames_are_dropped_from_the_report():
    log = ("[ 1.0] WARNING: CPU: 0 PID: 1 at a/b.c:1 x+0x1/0x2\n"
           "[ 1.0] Call Trace:\n[ 1.0]  ? guilty_looking+0x1/0x2\n[ 1.0]  real_caller+0x1/0x2\n"
           "[ 1.0]  other+0x1/0x2\n")
    # No RIP line: the WARNING rule falls back to the Call Trace, whose `?` frame is not a frame (§2.3).
    assert titles(log) == ["WARNING in real_caller"]


# --- §3.1-3.3 oops groups, suppressions, table order -------------------------------------------------

@pytest.mark.parametrize("line, header", [
    ("BUG: Unable to handle kernel data access", "BUG:"),  # §3.4: first group in table order
    ("Internal error: Oops - BUG: 0 [#1]", "BUG:"),
    ("Internal error: Oops: 96000004 [#1]", "Internal error:"),
    ("general protection fault: 0000 [#1] SMP", "general protection fault"),
    ("divide_error: 0000 [#1]", "divide_error:"),
    ("rust_kernel: panicked at src/x.rs:1:1:", "rust_kernel: panicked"),
    ("trusty: panic (x): boom", "trusty: panic"),
    ("kernel BUG at fs/x.c:1!", "kernel BUG"),
    ("Kernel BUG at 0000 [verbose debug info unavailable]", "Kernel BUG"),
])
def test_a_line_belongs_to_the_first_group_whose_header_it_holds(line, header):
    assert oops_group(line).header == header


@pytest.mark.parametrize("line", [
    "ODEBUG: free active object type: timer_list",  # holds "BUG:" but DEBUG: suppresses group 1
    "xDEBUG: BUG: something",
    "BUG: no syscalls can create resource fd",
    "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
    "WARNING: The mand mount option has been deprecated",
    "EXT4-fs (sda1): WARNING: mounting fs with errors",
    "Program x: Warning: foo uses wireless extensions which will stop working",
    "XFS (loop0): WARNING: unmount",
    "WARNING: Unprivileged eBPF is enabled with eIBRS on this CPU",
    "INFO: lockdep is turned off.",
    "INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.234 msecs",
    "BTF_INFO: nothing",
    "traps: a[1] general protection fault ip:1 sp:2 error:0 in libc.so[1+2]",
    "Decompressing Linux... Parsing ELF... done. Booting the kernel.",
    "ALSA fatal error: cannot open",
    "foo_panic: nothing",
    "ddb.onpanic: 1",
])
def test_suppressed_lines_are_not_oops_lines(line):
    assert oops_group(line) is None


def test_an_unsuppressed_warning_lookalike_is_a_report():
    assert titles("[ 1.0] WARNING: something odd happened\n") == ["WARNING: something odd happened"]


# --- §3.4 replay ---------------------------------------------------------------------------------------

def test_an_oops_line_followed_by_a_replay_marker_starts_no_report():
    log = ("[ 1.0] BUG: KASAN: use-after-free in f+0x1/0x2\n"
           "[ 1.0] ** replaying previous printk message **\n"
           "[ 1.0] WARNING: CPU: 0 PID: 1 at a/b.c:1 g+0x1/0x2\n"
           "[ 1.0] RIP: 0010:g+0x1/0x2\n[ 1.0] Call Trace:\n[ 1.0]  h+0x1/0x2\n[ 1.0]  i+0x1/0x2\n")
    assert titles(log)[0] == "WARNING in g"


def test_the_last_line_is_never_replay_truncated():
    assert titles("[ 1.0] BUG: workqueue lockup - pool cpus=0")[0] == "BUG: workqueue lockup"
