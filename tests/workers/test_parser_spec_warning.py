"""syzkaller's reporter, spec §14.2 (the `WARNING:` group, every format), pinned with synthetic logs
in the kernel's real console shapes (x86 with caller ids, arm64, powerpc, the new-style header),
written from ../shared/reference/syzkaller-report-rules.md."""

import pytest

from workers.parser import parse_log

P = "[   52.123456][ T5123] "
CALL = ["Call Trace:", " <TASK>", " guilty_fn+0x1/0x2", " caller_fn+0x1/0x2",
        " entry_SYSCALL_64_after_hwframe+0x1/0x2", " </TASK>"]


def log_of(*texts: str, prefix: str = P) -> str:
    return "".join(prefix + t + "\n" for t in texts)


def x86(head: str, rip: str) -> str:
    return log_of("------------[ cut here ]------------", head, "Modules linked in:",
                  "CPU: 0 PID: 5123 Comm: syz.0.1 Not tainted 6.1.0-syzkaller #0", f"RIP: 0010:{rip}",
                  "RSP: 0018:ffffc90003a7f9c8 EFLAGS: 00010293", *CALL)


def first(log: str):
    reports = parse_log(log).reports
    assert reports, "no report"
    return reports[0]


# --- 2.1-2.6, 2.10-2.12: a file (and function) on the WARNING line picks the format -----------------

@pytest.mark.parametrize("head, rip, title", [
    ("WARNING: CPU: 0 PID: 5123 at lib/debugobjects.c:505 debug_print_object+0x1/0x2", "debug_print_object+0x1/0x2",
     "WARNING: ODEBUG bug in guilty_fn"),
    ("WARNING: lib/debugobjects.c:505 at debug_print_object+0x1/0x2, CPU#0: syz/5123", "debug_print_object+0x1/0x2",
     "WARNING: ODEBUG bug in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at mm/usercopy.c:80 usercopy_warn+0x1/0x2", "usercopy_warn+0x1/0x2",
     "WARNING: bad usercopy in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at lib/kobject.c:80 kobject_add_internal+0x1/0x2", "kobject_add_internal+0x1/0x2",
     "WARNING: kobject bug in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at fs/proc/generic.c:380 proc_register+0x1/0x2", "proc_register+0x1/0x2",
     "WARNING: proc registration bug in guilty_fn"),
    ("WARNING: lib/refcount.c:25 at refcount_warn_saturate+0x1/0x2, CPU#1: syz/1", "refcount_warn_saturate+0x1/0x2",
     "WARNING: refcount bug in guilty_fn"),
    # 2.6 needs `lock_` after the lockdep file; `hlock_class` has it.
    ("WARNING: CPU: 0 PID: 5123 at kernel/locking/lockdep.c:232 hlock_class+0x1/0x2", "hlock_class+0x1/0x2",
     "WARNING: locking bug in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at kernel/locking/lockdep.c:232 check_flags+0x1/0x2", "check_flags+0x1/0x2",
     "WARNING in check_flags"),
    # 2.10: a space, then at most `k` and one more character before `malloc`.
    ("WARNING: CPU: 0 PID: 5123 at mm/util.c:597 kvmalloc_node+0x1/0x2", "kvmalloc_node+0x1/0x2",
     "WARNING: kmalloc bug in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at mm/slab_common.c:597 __kmalloc+0x1/0x2", "__kmalloc+0x1/0x2",
     "WARNING in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at mm/vmalloc.c:3155 __vmalloc_node_range+0x1/0x2",
     "__vmalloc_node_range+0x1/0x2", "WARNING: zero-size vmalloc in guilty_fn"),
    ("WARNING: CPU: 0 PID: 5123 at drivers/usb/core/urb.c:504 usb_submit_urb+0x1/0x2", "usb_submit_urb+0x1/0x2",
     "WARNING in guilty_fn/usb_submit_urb"),
])
def test_subsystem_warnings(head, rip, title):
    report = first(x86(head, rip))
    assert (report.title, report.corrupted) == (title, False)


# --- 2.13-2.16: the generic header shapes; the frame comes from WSR, never from the header ------------

@pytest.mark.parametrize("head, rip, title", [
    ("WARNING: CPU: 0 PID: 5123 at net/core/dev.c:123 dev_foo+0x1/0x2", "dev_foo+0x1/0x2", "WARNING in dev_foo"),
    ("WARNING: CPU: 0 PID: 5123 at net/core/dev.c:123 dev_foo+0x1/0x2", "other_fn+0x1/0x2", "WARNING in other_fn"),
    # The RIP function is skipped (kfree_skb): the segment is empty, the fallback reads the Call Trace.
    ("WARNING: CPU: 0 PID: 5123 at net/core/dev.c:123 dev_foo+0x1/0x2", "kfree_skb_reason+0x1/0x2",
     "WARNING in guilty_fn"),
    ("WARNING: net/core/dev.c:123 at dev_foo+0x1/0x2, CPU#0: syz/1", "dev_foo+0x1/0x2", "WARNING in dev_foo"),
    ("WARNING: [x] net/core/dev.c:123 at dev_foo+0x1/0x2 y", "dev_foo+0x1/0x2", "WARNING in dev_foo"),
])
def test_generic_warning_headers(head, rip, title):
    assert first(x86(head, rip)).title == title


def test_new_style_header_with_an_unresolved_address_uses_the_stack():
    assert first(log_of("WARNING: net/core/dev.c:123 at 0x1234, CPU#0: syz/1", *CALL)).title == "WARNING in guilty_fn"


def test_a_user_space_rip_captures_nothing_and_the_call_trace_decides():
    log = x86("WARNING: CPU: 0 PID: 5123 at net/core/dev.c:123 dev_foo+0x1/0x2", "0x7f0000001234")
    assert first(log.replace("RIP: 0010:", "RIP: 0033:")).title == "WARNING in guilty_fn"


def test_arm64_warning_takes_the_pc_line():
    log = log_of("WARNING: CPU: 0 PID: 1 at fs/x.c:12 foo_fn+0x1c/0x30", "Modules linked in:",
                 "pstate: 80400005 (Nzcv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)", "pc : foo_fn+0x1c/0x30",
                 "lr : bar_fn+0x1/0x2", "sp : ffff80008000bd00", "Call trace:", " foo_fn+0x1c/0x30",
                 " bar_fn+0x1/0x2", " el0_svc+0x1/0x2", prefix="[   52.123456] ")
    assert (first(log).title, first(log).corrupted) == ("WARNING in foo_fn", False)


def test_powerpc_warning_takes_the_interrupt_line():
    # WSR's FIND also accepts powerpc's `--- interrupt: N at func`; the (unreliable) frame before it
    # is questionable and dropped.
    log = log_of("WARNING: CPU: 0 PID: 1 at fs/x.c:12 foo_fn+0x1c/0x30", "Modules linked in:", "Call Trace:",
                 "[c000000001234560] [c000000000123450] bar_fn+0x1/0x2 (unreliable)",
                 "[c000000001234570] [c000000000123460] baz_fn+0x1/0x2",
                 "--- interrupt: 700 at foo_fn+0x1c/0x30",
                 "[c000000001234580] [c000000000123470] top_fn+0x1/0x2", prefix="[   52.123456] ")
    assert first(log).title == "WARNING in foo_fn"


# --- 2.7-2.9, 2.17-2.26: lockdep ----------------------------------------------------------------------

HDR = ["6.1.0-syzkaller #0 Not tainted", "------------------------------------------------------"]


@pytest.mark.parametrize("texts, title", [
    (["WARNING: syz.0.1/5123 still has locks held!", *HDR, "1 lock held by syz.0.1/5123:",
      " #0: ffff88801234 (&pipe->mutex/1){+.+.}-{3:3}, at: pipe_lock_nested+0x1/0x2", "", "stack backtrace:", *CALL],
     "WARNING: still has locks held in pipe_lock_nested"),
    (["WARNING: Nested lock was not taken", *HDR, "syz/1 is trying to lock:",
      "ffff (&ni->ni_lock/4){+.+.}-{3:3}, at: ntfs_fill_super+0x1/0x2", "", "but this task is not holding:",
      "&sb->s_type->i_mutex_key#12", "", "stack backtrace:", *CALL],
     "WARNING: nested lock was not taken in guilty_fn"),
    (["WARNING: lock held when returning to user space!", *HDR,
      "syz/1 is leaving the kernel with locks still held!", "1 lock held by syz/1:",
      " #0: ffff (&fi->mutex){+.+.}-{3:3}, at: fuse_lock_inode+0x1/0x2"],
     "WARNING: lock held when returning to user space in fuse_lock_inode"),
    # 2.17: the symbolised `at: inode_lock include/...` line is no FUNC; the next `at:` line is.
    (["WARNING: possible circular locking dependency detected", *HDR, "syz/1 is trying to acquire lock:",
      "ffff (&sb->s_type->i_mutex_key#12){+.+.}-{3:3}, at: inode_lock include/linux/fs.h:758 [inline]",
      "ffff (&sb->s_type->i_mutex_key#12){+.+.}-{3:3}, at: do_foo+0x1/0x2 fs/x.c:1", "",
      "but task is already holding lock:", "ffff (rtnl_mutex){+.+.}-{3:3}, at: rtnl_lock+0x1/0x2", "",
      "-> #1 (rtnl_mutex){+.+.}-{3:3}:", "       lock_acquire+0x1/0x2", "       chain_fn+0x1/0x2", "",
      "stack backtrace:", *CALL],
     "possible deadlock in do_foo"),
    (["WARNING: possible irq lock inversion dependency detected", *HDR, "syz/1 just changed the state of lock:",
      "ffff (&lock){+.+.}-{2:2}, at: inv_fn+0x1/0x2", "but this lock took another, SOFTIRQ-unsafe lock in the past:",
      *CALL],
     "possible deadlock in inv_fn"),
    (["WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", *HDR,
      "syz/1 [HC0[0]:SC0[0]:HE0:SE1] is trying to acquire:", "ffff (&x){+.+.}-{2:2}, at: acq_fn+0x1/0x2", "",
      "... which became SOFTIRQ-irq-safe at:", "  lock_acquire+0x1/0x2", "  _raw_spin_lock+0x1/0x2",
      "  became_fn+0x1/0x2", "", "to a SOFTIRQ-irq-unsafe lock:", *CALL],
     "possible deadlock in became_fn"),
    (["WARNING: possible recursive locking detected", *HDR, "syz/1 is trying to acquire lock:",
      "ffff (&x){+.+.}-{2:2}, at: rec_fn+0x1/0x2", "", "but task is already holding lock:",
      "ffff (&x){+.+.}-{2:2}, at: held_fn+0x1/0x2", *CALL],
     "possible deadlock in rec_fn"),
    # 2.21: the frame is the Call Trace's, not the `takes` site.
    (["WARNING: inconsistent lock state", *HDR, "inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.",
      "syz/1 [HC0[0]:SC1[1]:HE1:SE0] takes:", "ffff (&x){+.?.}-{2:2}, at: take_fn+0x1/0x2", *CALL],
     "inconsistent lock state in guilty_fn"),
    (["WARNING: suspicious RCU usage", *HDR, "net/core/dev.c:123 suspicious rcu_dereference_check() usage!", "",
      "stack backtrace:", *CALL],
     "WARNING: suspicious RCU usage in guilty_fn"),
    (["WARNING: bad unlock balance detected!", *HDR, "syz/1 is trying to release lock (rtnl_mutex) at:",
      "[<ffffffff81234567>] ipmr_mfc_seq_stop+0x1/0x2", "but there are no more locks to release!", "",
      "stack backtrace:", *CALL],
     "WARNING: bad unlock balance in ipmr_mfc_seq_stop"),
    (["WARNING: held lock freed!", *HDR, "syz/1 is freeing memory ffff-ffff, with a lock still held there!",
      "ffff (sk_lock-AF_INET){+.+.}-{0:0}, at: nr_release+0x1/0x2", "", "stack backtrace:", *CALL],
     "WARNING: held lock freed in nr_release"),
])
def test_lockdep_warnings(texts, title):
    report = first(log_of(*texts))
    assert (report.title, report.corrupted) == (title, False)


# --- 2.23-2.29 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("head, title", [
    ("WARNING: kernel stack regs at ffff8880123 in syz-executor:123 has bad 'bp' value 0000",
     "WARNING: kernel stack regs has bad 'bp' value"),
    ("WARNING: kernel stack frame pointer at ffff8880123 in syz:123 has bad value 0000",
     "WARNING: kernel stack frame pointer has bad value"),
    # A space in the task name: 2.23/2.24 do not match, 2.27/2.28 do (2.28 says "regs", sic).
    ("WARNING: kernel stack regs at ffff8880123 in syz executor:123 has bad 'bp' value 0000",
     "WARNING: kernel stack regs has bad value"),
    ("WARNING: kernel stack frame pointer at ffff8880123 in syz executor:123 has bad value 0000",
     "WARNING: kernel stack regs has bad value"),
])
def test_stack_regs_warnings_need_no_stack(head, title):
    report = first(log_of(head))
    assert (report.title, report.corrupted) == (title, False)


def test_empty_warning_is_corrupted():
    report = first(log_of("WARNING:", "RIP: 0010:foo_fn+0x1/0x2", *CALL))
    assert (report.title, report.corrupted_reason) == ("WARNING: corrupted", "report format is marked as corrupted")


@pytest.mark.parametrize("line", [
    "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
    "WARNING: The mand mount option has been deprecated",
    "EXT4-fs (loop0): WARNING: mounting fs with errors",
    "XFS (loop0): WARNING: sample",
    "WARNING: sample uses wireless extensions",
])
def test_suppressed_warning_lines_start_no_report(line):
    assert parse_log(log_of(line, *CALL)).reports == []
