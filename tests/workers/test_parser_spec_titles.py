"""syzkaller's reporter, spec §5 (format choice), §9 (alternative titles), §10 (corruption), §11
(normalisation), §14 (formats), §15 (type, frame), §16 (guilty file), §12 (suppression), pinned with
synthetic logs written from ../shared/reference/syzkaller-report-rules.md."""

import pytest

from workers.parser import parse_log
from workers.parser.derived import crash_type, guilty_file, title_frame
from workers.parser.normalise import normalise

CALL = "[ 1.0] Call Trace:\n[ 1.0]  <TASK>\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n[ 1.0]  </TASK>\n"


def first(log: str):
    reports = parse_log(log).reports
    assert reports, "no report"
    return reports[0]


# --- §5 format choice ---------------------------------------------------------------------------------

def test_unknown_header_is_the_raw_line_not_corrupted_and_not_stack_checked():
    # Pitfall 5, §18.4.
    report = first("[ 1.0] WARNING: CPU: 3 PID: 812 at drivers/sample/x.c:120\n")
    assert report.title == "WARNING: CPU: NUM PID: NUM at drivers/sample/x.c:LINE"
    assert not report.corrupted and report.type == "WARNING"


def test_report_pattern_veto_leaves_the_raw_header_and_a_corrupted_verdict():
    # Pitfall 4: KASAN's title matches but no access line follows and 1.2's header form fails too;
    # 1.4 (the catch-all, also at the leftmost offset) then wins as an always-corrupted format.
    report = first("[ 1.0] BUG: KASAN: use-after-free in sample_fn+0x1/0x2\n" + CALL)
    assert report.title == "KASAN: use-after-free in sample_fn"
    assert report.corrupted_reason == "report format is marked as corrupted"


def test_kasan_needs_a_later_access_line_and_takes_the_header_function_first():
    # Pitfall 8, §18.2.
    log = ("[ 1.0] BUG: KASAN: slab-use-after-free in sample_read+0x55/0x90\n"
           "[ 1.0] Read of size 4 at addr ffff888012345678 by task syz.0.1/5000\n" + CALL)
    report = first(log)
    assert report.title == "KASAN: slab-use-after-free Read in sample_read"
    assert report.alt_titles == ["bad-access in sample_read"]
    assert report.type == "KASAN-USE-AFTER-FREE-READ"


def test_old_kasan_on_address_report_has_no_frame():
    log = ("[ 1.0] BUG: KASAN: use-after-free on address ffff88006a2f0000\n"
           "[ 1.0] Write of size 4 by task a/1\n" + CALL)
    assert first(log).title == "KASAN: use-after-free Write"


def test_kasan_double_free_has_its_own_format():
    log = "[ 1.0] BUG: KASAN: double-free or invalid-free in kfree+0x1/0x2\n" + CALL
    report = first(log)
    assert report.title == "KASAN: invalid-free in guilty" and report.type == "KASAN-INVALID-FREE"


def test_empty_headers_are_always_corrupted():
    assert [(r.title, r.corrupted) for r in parse_log("[ 1.0] BUG:   \n").reports] == [("BUG: corrupted", True)]
    assert first("[ 1.0] INFO:\n[ 1.0] x\n").title == "INFO: corrupted"


def test_new_style_warning_header():
    log = ("[ 1.0] WARNING: net/core/dev.c:123 at dev_foo+0x1/0x2, CPU#0: a/1\n"
           "[ 1.0] RIP: 0010:dev_foo+0x1/0x2\n" + CALL)
    assert first(log).title == "WARNING in dev_foo"
    unresolved = "[ 1.0] WARNING: net/core/dev.c:123 at 0x1234, CPU#0: a/1\n" + CALL
    assert first(unresolved).title == "WARNING in guilty"


def test_subsystem_warnings_win_by_table_order():
    log = ("[ 1.0] WARNING: CPU: 0 PID: 1 at lib/refcount.c:25 refcount_warn_saturate+0x1/0x2\n"
           "[ 1.0] RIP: 0010:refcount_warn_saturate+0x1/0x2\n" + CALL)
    report = first(log)
    assert report.title == "WARNING: refcount bug in guilty" and report.type == "REFCOUNT_WARNING"


def test_usb_submit_urb_warning():
    log = ("[ 1.0] WARNING: CPU: 0 PID: 1 at drivers/usb/core/urb.c:1 usb_submit_urb+0x1/0x2\n"
           "[ 1.0] RIP: 0010:usb_submit_urb+0x1/0x2\n" + CALL)
    assert first(log).title == "WARNING in guilty/usb_submit_urb"


def test_lockdep_circular_dependency_names_the_acquired_lock_site():
    log = ("[ 1.0] WARNING: possible circular locking dependency detected\n"
           "[ 1.0] syz/1 is trying to acquire lock:\n"
           "[ 1.0] ffff (&lock){+.+.}, at: acquirer_fn+0x1/0x2\n"
           "[ 1.0] but task is already holding lock:\n"
           "[ 1.0] ffff (&other){+.+.}, at: holder_fn+0x1/0x2\n" + CALL)
    report = first(log)
    assert report.title == "possible deadlock in acquirer_fn" and report.type == "LOCKDEP"


def test_hung_task_uses_the_hung_task_extractor():
    # §18.3.
    log = ("[ 1.0] INFO: task syz.2.7:6000 blocked for more than 143 seconds.\n"
           "[ 1.0] Call Trace:\n[ 1.0]  __schedule+0x1/0x2\n[ 1.0]  schedule+0x1/0x2\n"
           "[ 1.0]  __mutex_lock+0x1/0x2\n[ 1.0]  sample_ioctl+0x1/0x2\n[ 1.0]  __x64_sys_ioctl+0x1/0x2\n")
    report = first(log)
    assert report.title == "INFO: task hung in sample_ioctl" and report.alt_titles == ["hang in sample_ioctl"]
    assert report.type == "HANG"


def test_kernel_panic_formats():
    assert first("[ 1.0] Kernel panic - not syncing: Fatal exception\n").corrupted_reason == (
        "report format is marked as corrupted")
    report = first("[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
    assert report.title == "kernel panic: VFS: Unable to mount root fs"
    assert report.corrupted_reason == "no stack trace in report"  # 7.10 is subject to §10.2


def test_rust_panic_titles_with_the_message_and_the_demangled_frame():
    log = ("[ 1.0] rust_kernel: panicked at rust/kernel/x.rs:10:5:\n"
           "[ 1.0] attempt to add with overflow\n"
           "[ 1.0] Call Trace:\n[ 1.0]  _RNvNtCs1234_6kernel4sync4wait+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    assert first(log).title == "attempt to add with overflow in kernel::sync::wait"


def test_ubsan_formats():
    log = "[ 1.0] UBSAN: shift-out-of-bounds in fs/x.c:12:3\n" + CALL
    assert first(log).title == "UBSAN: shift-out-of-bounds in guilty"
    log = "[ 1.0] UBSAN: array-index-out-of-bounds in fs/x.c:12:3\n" + CALL
    assert first(log).alt_titles == ["bad-access in guilty"]


def test_reboot_only_when_the_line_starts_with_it():
    log = "[ 1.0] ok\n[ 2.0] Booting the kernel.\n"
    assert first(log).title == "unexpected kernel reboot"


# --- §9 alternative titles ---------------------------------------------------------------------------

def test_alternatives_with_raw_and_prefix_stripped_frames():
    log = ("[ 1.0] general protection fault: 0000 [#1] SMP\n"
           "[ 1.0] RIP: 0010:__do_sys_foo+0x1/0x2\n" + CALL)
    report = first(log)
    assert report.title == "general protection fault in foo"
    assert report.alt_titles == ["bad-access in foo", "general protection fault in __do_sys_foo",
                                 "bad-access in __do_sys_foo"]


# --- §10 corruption ------------------------------------------------------------------------------------

def test_every_marker_kind_needs_frames():
    log = ("[ 1.0] BUG: spinlock bad magic on CPU#0, a/1\n" + CALL
           + "[ 1.0] Allocated by task 1:\n[ 1.0] (no frames here)\n[ 1.0] x\n[ 1.0] y\n")
    assert first(log).corrupted_reason == "no frames in a stack trace"


def test_a_marker_too_close_to_the_end_is_a_missed_call_trace():
    log = "[ 1.0] BUG: spinlock bad magic on CPU#0, a/1\n[ 1.0] x\n[ 1.0] Call Trace:\n[ 1.0]  guilty+0x1/0x2\n"
    assert first(log).corrupted_reason == "call trace is missed"


def test_a_timestamp_inside_the_title_is_corrupted():
    log = "[ 1.0] WARNING: odd [   12.345678] interleaved\n"
    assert first(log).corrupted_reason == "title matches corrupted regexp"


def test_vm_disconnected_marks_the_report_corrupted_without_a_reason():
    log = "[ 1.0] WARNING: odd thing\nserialport: VM disconnected.\n"
    report = first(log)
    assert report.corrupted and report.corrupted_reason == ""


def test_suppression_looks_at_the_whole_output():
    log = "[ 1.0] WARNING: odd thing\n[ 2.0] Out of memory: Kill process 5 (sshd) score 1\n"
    assert first(log).suppressed and not first(log).corrupted


# --- §11 normalisation (pitfall 12) ------------------------------------------------------------------

@pytest.mark.parametrize("raw, title", [
    ("BUG: x in syz-executor.3/1234", "BUG: x in syz-executor"),
    ("task syzkaller12:5 hung", "task syzkaller hung"),
    ("at addr ffff888012345678 and 0xdeadbeef1", "at addr ADDR and ADDR"),
    ("word decade stays? no: _decade", "word ADDR stays? no: _ADDR"),
    ("to 10.1.2.3 from", "to IP from"),
    ("in fs/x.c:123:4 ok", "in fs/x.c:LINE ok"),
    ("ip6_fragment+0x1052/0x2d80 x", "ip6_fragment x"),
    ("on CPU#12", "on CPU"),
    ("a 0,1,2 b ext4 loop0", "a NUM,NUM,NUM b ext4 loop0"),
    ("12 leading kept", "12 leading kept"),
    ("id xyz1234567", "id xyzNUM"),
    ("f+0x1/0x2 single letter", "f+0x1/0x2 single letter"),  # rule 6 needs two name characters
    ("  two  spaces\there  ", "two spaces here"),
])
def test_normalise(raw, title):
    assert normalise(raw) == title


def test_titles_are_cut_at_120_bytes_before_spaces_are_collapsed():
    assert normalise("x" * 200) == "x" * 120
    assert len(normalise("é" * 100)) == 0  # non-ASCII bytes are dropped (and counted in the 120)


# --- §15 type and frame, §16 guilty file --------------------------------------------------------------

@pytest.mark.parametrize("title, kind", [
    ("KFENCE: use-after-free write in f", "KFENCE-USE-AFTER-FREE-WRITE"),
    ("KASAN: slab-out-of-bounds Write in f", "KASAN-WRITE"),
    ("KASAN: slab-out-of-bounds in f", "KASAN-READ"),
    ("BUG: unable to handle kernel NULL pointer dereference in f", "NULL-POINTER-DEREFERENCE"),
    ("possible deadlock in f", "LOCKDEP"),
    ("memory leak in f", "LEAK"),
    ("kernel BUG in f", "BUG"),
    ("general protection fault in f", "DoS"),
    ("INFO: rcu detected stall in f", "HANG"),
    ("unexpected kernel reboot", "REBOOT"),
    ("KMSAN: something new", "KMSAN-UNKNOWN"),
    ("WARNING: odd", "WARNING"),
    ("something else", "UNKNOWN"),
])
def test_crash_type(title, kind):
    assert crash_type(title) == kind


@pytest.mark.parametrize("title, frame", [
    ("WARNING in foo/usb_submit_urb", "foo"), ("KCSAN: data-race in a / b", "a"),
    ("BUG: using x() in preemptible code in foo", "foo"), ("x in <A as B>::method", "<A as B>::method"),
    ("no frame", ""),
])
def test_title_frame(title, frame):
    assert title_frame(title) == frame


def test_guilty_file_skips_generic_files_and_prefers_deeper_ones():
    body = ("BUG: x\n"
            " kasan_report (mm/kasan/report.c:10)\n"
            " helper (include/linux/list.h:5)\n"
            " drv_fn (drivers/net/core.c:20)\n"
            " drv_sub (drivers/net/sub/part.c:7)\n"
            " other (fs/open.c:1)\n")
    assert guilty_file("BUG: x", body) == "drivers/net/sub/part.c"
    assert guilty_file("BUG: x", "only (lib/string.c:1)\n") == "lib/string.c"  # the first, as a last resort
