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


# --- §14.1 group BUG: ------------------------------------------------------------------------------------

TRACE = """
Call Trace:
 <TASK>
 dump_stack_lvl+0xd9/0x1b0
 guilty_fn+0x44/0x300
 caller_fn+0x270/0xbb0
 </TASK>
"""

# (format, log text, title, alternative titles, corrupted)
BUG_CASES = [
    ("1.1 old style", """
     BUG: KASAN: use-after-free in old_fn+0x1b/0x2c at addr ffff88006a2f0000
     Read of size 8 by task syz-executor/1234
     """ + TRACE, "KASAN: use-after-free Read in old_fn", ["bad-access in old_fn"], False),
    ("1.1 arm64 tags", """
     BUG: KASAN: invalid-access in __memcpy+0x1b/0x2c
     Write at addr f4ff000012345678 by task syz/1234
     Call trace:
      dump_backtrace+0x0/0x1e0
      do_tag_check_fault+0x2c/0x40
      el1_abort+0x40/0x60
      el1h_64_sync_handler+0xb0/0xd0
      my_copy+0x30/0x40
     """, "KASAN: invalid-access Write in my_copy", ["bad-access in my_copy"], False),
    ("1.2 double-free", """
     BUG: KASAN: double-free in slab_free_hook+0x1/0x2
     Free of addr ffff888012345678 by task syz/1
     """ + TRACE, "KASAN: invalid-free in guilty_fn", ["invalid-free in guilty_fn"], False),
    ("1.4 catch-all", """
     BUG: KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]
     """ + TRACE, "KASAN: null-ptr-deref in range [ADDR-ADDR]", [], True),
    ("1.5 usb infoleak", """
     BUG: KMSAN: kernel-usb-infoleak in usb_submit_urb+0x1/0x2
      usb_submit_urb+0x1/0x2
      usb_start_wait_urb+0x1/0x2
      my_usb_probe+0x1/0x2

     Uninit was created at:
      __kmalloc+0x1/0x2
      my_alloc_buf+0x1/0x2
     """, "KMSAN: kernel-usb-infoleak in my_usb_probe", ["KMSAN origin in my_alloc_buf"], False),
    ("1.6 stored-to stack", """
     BUG: KMSAN: uninit-value in check_fn+0x1/0x2
      check_fn+0x1/0x2

     Uninit was stored to memory at:
      store_fn+0x1/0x2

     Local variable buf created at:
      origin_fn+0x1/0x2
     """, "KMSAN: uninit-value in check_fn", ["bad-access in check_fn"], False),
    ("1.6 copy helpers skipped", """
     BUG: KMSAN: kernel-infoleak in instrument_copy_to_user+0x1/0x2
      instrument_copy_to_user+0x1/0x2
      _copy_to_user+0x1/0x2
      my_ioctl+0x1/0x2

     Uninit was created at:
      origin_fn+0x1/0x2
     """, "KMSAN: kernel-infoleak in my_ioctl", ["bad-access in my_ioctl"], False),
    ("1.6 no origin", """
     BUG: KMSAN: uninit-value in check_fn+0x1/0x2
      check_fn+0x1/0x2
     CPU: 0 PID: 1 Comm: x Not tainted 6.1.0 #0
     """, "KMSAN: uninit-value in check_fn", ["bad-access in check_fn"], True),
    ("1.7 data race", """
     BUG: KCSAN: data-race in fn_a / fn_b

     write to 0xffff888012345678 of 8 bytes by task 1 on cpu 0:
      fn_a+0x1/0x2
     """, "KCSAN: data-race in fn_a / fn_b", [], False),
    ("1.11 KFENCE invalid read", """
     BUG: KFENCE: invalid read in strlen+0x1/0x2

     Invalid read at 0xffff8c2aae231fff:
      strlen+0x1/0x2
      reader_fn+0x1/0x2

     RIP: 0010:strlen+0x1/0x2
     Call Trace:
      reader_fn+0x1/0x2
      kthread+0x1/0x2
     """, "KFENCE: invalid read in reader_fn", ["bad-access in reader_fn"], False),
    ("1.9 KFENCE without a marker", """
     BUG: KFENCE: use-after-free write in writer_fn+0x1/0x2

     Use-after-free write at 0xffff8c2aae231fff (in kfence-#24):
      writer_fn+0x1/0x2
      kthread+0x1/0x2

     CPU: 3 PID: 110 Comm: x Not tainted 5.11.0 #1
     """, "KFENCE: use-after-free write in writer_fn", ["bad-access in writer_fn"], True),
    ("1.14 powerpc", """
     BUG: Kernel NULL pointer dereference on read at 0x00000000
     NIP [c000000000123456] ppc_fn+0x1/0x2
     Call Trace:
     [c00000000abcd100] [c000000000123500] ppc_caller+0x1/0x2
     [c00000000abcd200] [c000000000123600] ppc_caller2+0x1/0x2
     """, "BUG: unable to handle kernel NULL pointer dereference in ppc_fn", ["bad-access in ppc_fn"], False),
    ("1.15 other halves", """
     BUG: unable to handle kernel instruction fetch
     """ + TRACE, "BUG: unable to handle kernel", [], True),
    ("1.16 skips spin_ and _unlock", """
     BUG: rwlock wrong owner on CPU#1, syz/1
     Call Trace:
      spin_dump+0x1/0x2
      do_raw_write_unlock+0x1/0x2
      my_unlock_user+0x1/0x2
      writer_fn+0x1/0x2
     """, "BUG: rwlock wrong owner in writer_fn", [], False),
    ("1.17 stall extractor", """
     watchdog: BUG: soft lockup - CPU#1 stuck for 143s! [syz-executor.0:5000]
     RIP: 0010:_raw_spin_unlock_irqrestore+0x1/0x2
     Call Trace:
      <TASK>
      loop_fn+0x1/0x2
      dev_ioctl_fn+0x1/0x2
      __x64_sys_ioctl+0x1/0x2
      do_syscall_64+0x1/0x2
      </TASK>
     """, "BUG: soft lockup in dev_ioctl_fn", ["stall in dev_ioctl_fn"], False),
    ("1.17 no anchor", """
     watchdog: BUG: soft lockup - CPU#1 stuck for 143s! [syz-executor.0:5000]
     RIP: 0010:loop_fn+0x1/0x2
     Call Trace:
      <IRQ>
      a_fn+0x1/0x2
      </IRQ>
     """, "BUG: soft lockup in corrupted", ["stall in corrupted"], True),
    ("1.20 returning to user", """
     BUG: lock held when returning to user space!
     ------------------------------------------------
     syz/1234 is leaving the kernel with locks still held!
     1 lock held by syz/1234:
      #0: ffff888012345678 (&x->lock){+.+.}-{3:3}, at: my_locker+0x1/0x2
     """, "BUG: lock held when returning to user space in my_locker", [], False),
    ("1.21 bad unlock", """
     BUG: bad unlock balance detected!
     syz/1234 is trying to release lock (&x->lock) at:
     [<ffffffff81234567>] my_unlocker+0x1/0x2
     but there are no more locks to release!
     stack backtrace:
     Call Trace:
      dump_stack+0x1/0x2
      other_fn+0x1/0x2
     """, "BUG: bad unlock balance in my_unlocker", [], False),
    ("1.22 held lock freed", """
     BUG: held lock freed!
     syz/1234 is freeing memory ffff8880-ffff8881, with a lock still held there!
      (sk_lock-AF_INET){+.+.}, at: [<ffffffff81234567>] my_release+0x1/0x2
     stack backtrace:
     Call Trace:
      dump_stack+0x1/0x2
      other_fn+0x1/0x2
     """, "BUG: held lock freed in my_release", [], False),
    ("1.24 nr_ptes", "BUG: non-zero nr_ptes on freeing mm: 1", "BUG: non-zero nr_ptes on freeing mm", [], False),
    ("1.27 no allocation stack", """
     BUG: Bad page state in process syz  pfn:12345
     page dumped because: nonzero mapcount
     """ + TRACE, "BUG: Bad page state in corrupted", [], True),
    ("1.28 bad page map", """
     BUG: Bad page map in process syz  pte:8000 pmd:1234
     """ + TRACE, "BUG: Bad page map", [], False),
    ("1.29 workqueue lockup", "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 30s!",
     "BUG: workqueue lockup", [], False),
    ("1.32 leaked lock", """
     BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/12
          last function: my_work_fn
     """, "BUG: workqueue leaked lock or atomic in my_work_fn", [], False),
    ("1.33 crc backtrace", """
     BUG: memory leak
     unreferenced object 0xffff888012345678 (size 32):
       comm "syz", pid 1234, jiffies 4294
       backtrace (crc 1a2b3c4d):
         kmemleak_alloc+0x1/0x2
         __kmalloc_cache_noprof+0x1/0x2
         my_leaker+0x1/0x2
         do_syscall_64+0x1/0x2
     """, "memory leak in my_leaker", [], False),
    ("1.34 guard page", """
     BUG: TASK stack guard page was hit at ffffc90001237ff8 (stack is ffffc90001238000..ffffc90001240000)
     RIP: 0010:recurse_fn+0x1/0x2
     Call Trace:
      recurse_fn+0x1/0x2
      my_sendmsg+0x1/0x2
      sock_sendmsg+0x1/0x2
     """, "BUG: stack guard page was hit in my_sendmsg", ["stack-overflow in my_sendmsg"], False),
    ("1.35 invalid wait context", """
     BUG: Invalid wait context
     syz/1234 is trying to lock:
     ffff888012345678 (&x->lock){....}-{3:3}, at: waiter_fn+0x1/0x2
     stack backtrace:
     Call trace:
      dump_backtrace+0x1/0x2
      lock_acquire+0x1/0x2
      __mutex_lock+0x1/0x2
      waiter_fn+0x1/0x2
     """, "WARNING: locking bug in waiter_fn", [], False),
]


@pytest.mark.parametrize("text, title, alts, corrupted", [c[1:] for c in BUG_CASES], ids=[c[0] for c in BUG_CASES])
def test_bug_formats(text, title, alts, corrupted):
    report = first(log(text))
    assert (report.title, report.alt_titles, report.corrupted) == (title, alts, corrupted)


# --- §14.3 group INFO: -----------------------------------------------------------------------------------

INFO_CASES = [
    ("3.1 old circular", """
     [ INFO: possible circular locking dependency detected ]
     4.4.0 #1 Not tainted
     syz/1234 is trying to acquire lock:
      (&x->lock){+.+.+.}, at: [<ffffffff81234567>] acquirer+0x1/0x2

     but task is already holding lock:
      (rtnl_mutex){+.+.+.}, at: [<ffffffff81234567>] rtnl_lock+0x1/0x2
     stack backtrace:
     Call Trace:
      [<ffffffff81234567>] dump_stack+0x1/0x2
      [<ffffffff81234567>] other+0x1/0x2
     """, "possible deadlock in acquirer", [], False),
    ("3.5 old inconsistent", """
     [ INFO: inconsistent lock state ]
     inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.
     syz/1234 [HC0[0]:SC1[1]:HE1:SE0] takes:
      (&x->lock){+.?...}, at: [<ffffffff81234567>] taker+0x1/0x2
     stack backtrace:
     Call Trace:
      [<ffffffff81234567>] dump_stack+0x1/0x2
      [<ffffffff81234567>] other+0x1/0x2
     """, "inconsistent lock state in taker", [], False),
    ("3.6 interrupted task", """
     rcu: INFO: rcu_preempt self-detected stall on CPU
     rcu: 	0-....: (10500 ticks this GP) idle=xxx/1/0x4000000000000000 softirq=1/1 fqs=5000
     RIP: 0010:stuck_fn+0x1/0x2
     Call Trace:
      <IRQ>
      update_process_times+0x1/0x2
      hrtimer_interrupt+0x1/0x2
      sysvec_apic_timer_interrupt+0x1/0x2
      </IRQ>
      <TASK>
      asm_sysvec_apic_timer_interrupt+0x1/0x2
     RIP: 0010:stuck_fn+0x1/0x2
     RSP: 0018:ffffc90001234567 EFLAGS: 00000246
      caller_of_stuck+0x1/0x2
      my_write+0x1/0x2
      vfs_write+0x1/0x2
      ksys_write+0x1/0x2
      </TASK>
     """, "INFO: rcu detected stall in my_write", ["stall in my_write"], False),
    ("3.6 fallback", """
     INFO: rcu_sched self-detected stall on CPU
     Call Trace:
      <IRQ>  [<ffffffff81234567>] sched_show_task+0x1/0x2
      [<ffffffff81234567>] local_apic_timer_interrupt+0x1/0x2
      [<ffffffff81234567>] smp_apic_timer_interrupt+0x1/0x2
      [<ffffffff81234567>] apic_timer_interrupt+0x1/0x2
      <EOI>  [<ffffffff81234567>] spinner+0x1/0x2
      [<ffffffff81234567>] my_timer_fn+0x1/0x2
      [<ffffffff81234567>] call_timer_fn+0x1/0x2
     """, "INFO: rcu detected stall in my_timer_fn", ["stall in my_timer_fn"], False),
    ("3.7 lock names skipped", """
     INFO: trying to register non-static key.
     turning off the locking correctness validator.
     Call Trace:
      dump_stack_lvl+0x1/0x2
      register_lock_class+0x1/0x2
      block_dev_fn+0x1/0x2
      my_user_fn+0x1/0x2
     """, "INFO: trying to register non-static key in my_user_fn", [], False),
    ("3.8 old suspicious RCU", """
     [ INFO: suspicious RCU usage. ]
     include/linux/rcupdate.h:1 suspicious rcu_dereference_check() usage!
     stack backtrace:
     Call Trace:
      [<ffffffff81234567>] dump_stack+0x1/0x2
      [<ffffffff81234567>] lockdep_rcu_suspicious+0x1/0x2
      [<ffffffff81234567>] my_deref_fn+0x1/0x2
     """, "INFO: suspicious RCU usage in my_deref_fn", [], False),
    ("3.9 in I/O wait", """
     INFO: task kworker/u4:1:12 blocked in I/O wait for more than 143 seconds.
     Call Trace:
      __schedule+0x1/0x2
      io_schedule+0x1/0x2
      folio_wait_bit_common+0x1/0x2
      my_read_fn+0x1/0x2
     """, "INFO: task hung in my_read_fn", ["hang in my_read_fn"], False),
    ("3.9 synchronize literal", """
     INFO: task syz:12 blocked for more than 143 seconds.
     Call Trace:
      __schedule+0x1/0x2
      __wait_for_common+0x1/0x2
      __synchronize_srcu+0x1/0x2
      my_cleanup+0x1/0x2
     """, "INFO: task hung in synchronize_rcu",
     ["hang in synchronize_rcu", "INFO: task hung in __synchronize_srcu", "hang in __synchronize_srcu"], False),
    ("3.10 can't die", """
     INFO: task syz:1234 can't die for more than 143 seconds.
     syz             R  running task        0  1234      1 0x00000004
     Call Trace:
      __schedule+0x1/0x2
      schedule+0x1/0x2
      dying_fn+0x1/0x2
     """, "INFO: task can't die in dying_fn", ["hang in dying_fn"], False),
]


@pytest.mark.parametrize("text, title, alts, corrupted", [c[1:] for c in INFO_CASES], ids=[c[0] for c in INFO_CASES])
def test_info_formats(text, title, alts, corrupted):
    report = first(log(text))
    assert (report.title, report.alt_titles, report.corrupted) == (title, alts, corrupted)
