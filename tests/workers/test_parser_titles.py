"""Report detection and syzbot-compatible titles on small hand-written logs of each report kind."""

import pytest

from workers.parser import parse_log

X86_TAIL = """[  10.4] Call Trace:
[  10.4]  <TASK>
[  10.4]  dump_stack_lvl+0x1/0x2
[  10.4]  ? foo_helper+0x1/0x2
[  10.4]  kasan_report+0x1/0x2
[  10.4]  memcpy+0x1/0x2
[  10.4]  mutex_lock_nested+0x1/0x2
[  10.4]  guilty_function+0x1f/0x30 [mymod]
[  10.4]  caller_function+0x1/0x2
[  10.4]  __x64_sys_write+0x1/0x2
[  10.4]  do_syscall_64+0x1/0x2
[  10.4]  entry_SYSCALL_64_after_hwframe+0x1/0x2
[  10.4]  </TASK>
"""


def first(text: str):
    parsed = parse_log(text)
    assert parsed.reports, "no report found"
    return parsed.reports[0]


@pytest.mark.parametrize(
    "header, title",
    [
        ("BUG: KASAN: slab-use-after-free in guilty_function+0x1f/0x30\n[  10.3] Read of size 8 at addr "
         "ffff888003a1c000 by task sh/50", "KASAN: slab-use-after-free Read in guilty_function"),
        ("BUG: KASAN: stack-out-of-bounds in memcpy+0x1/0x2\n[  10.3] Write of size 4 at addr ffff88 by task x/1",
         "KASAN: stack-out-of-bounds Write in guilty_function"),
        ("BUG: sleeping function called from invalid context at mm/slab.h:100",
         "BUG: sleeping function called from invalid context in guilty_function"),
        ("BUG: scheduling while atomic: sh/50/0x00000002", "BUG: scheduling while atomic in guilty_function"),
        ("BUG: spinlock bad magic on CPU#0, sh/50", "BUG: spinlock bad magic in guilty_function"),
        ("UBSAN: shift-out-of-bounds in fs/foo.c:12:3", "UBSAN: shift-out-of-bounds in guilty_function"),
        ("INFO: task sh:50 blocked for more than 143 seconds.", "INFO: task hung in guilty_function"),
        ("kernel BUG at lib/list_debug.c:59!", "BUG: corrupted list in guilty_function"),
        ("kernel BUG at mm/usercopy.c:102!", "BUG: bad usercopy in guilty_function"),
        ("INFO: trying to register non-static key.", "INFO: trying to register non-static key in guilty_function"),
    ],
)
def test_stack_titles_skip_generic_frames(header: str, title: str):
    report = first(f"[  10.1] random boot line\n[  10.2] {header}\n{X86_TAIL}")
    assert report.title == title
    assert not report.corrupted
    assert report.guilty_frame.function == "guilty_function"
    assert report.guilty_frame.module == "mymod"


def rip_report(header: str) -> str:
    return (f"[  10.2] {header}\n[  10.2] CPU: 1 UID: 0 PID: 50 Comm: sh Tainted: G    B   W   6.12.0 #1\n"
            "[  10.2] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)\n"
            "[  10.3] RIP: 0010:guilty_function+0x1f/0x30 [mymod]\n"
            "[  10.3] Code: 0f 1f 44 00 00 55 48 89 e5 <0f> 0b 5d c3\n"
            "[  10.3] RSP: 0018:ffffc900002afce8 EFLAGS: 00010246\n"
            "[  10.3] RAX: 0000000000000000 RBX: ffff888003a1c000 RCX: 0000000000000001\n" + X86_TAIL
            + "[  10.5] ---[ end trace 0000000000000000 ]---\n"
            "[  10.5] Kernel panic - not syncing: Fatal exception\n")


@pytest.mark.parametrize(
    "header, title",
    [
        ("BUG: kernel NULL pointer dereference, address: 0000000000000008",
         "BUG: unable to handle kernel NULL pointer dereference in guilty_function"),
        ("BUG: unable to handle page fault for address: ffffc9000027fc60",
         "BUG: unable to handle kernel paging request in guilty_function"),
        ("Oops: general protection fault, probably for non-canonical address 0xdffffc0000000004: 0000 [#1]",
         "general protection fault in guilty_function"),
        ("general protection fault: 0000 [#1] SMP KASAN", "general protection fault in guilty_function"),
        ("kernel BUG at drivers/foo/bar.c:105!", "kernel BUG in guilty_function"),
        ("WARNING: CPU: 1 PID: 50 at drivers/foo/bar.c:112 guilty_function+0x1f/0x30 [mymod]",
         "WARNING in guilty_function"),
        ("WARNING: fs/dcache.c:1600 at guilty_function+0x1f/0x30, CPU#0: sh/50", "WARNING in guilty_function"),
        ("WARNING: CPU: 1 PID: 50 at lib/refcount.c:25 refcount_warn_saturate+0x1/0x2",
         "WARNING: refcount bug in guilty_function"),
        ("Oops: divide error: 0000 [#1] PREEMPT SMP KASAN", "divide error in guilty_function"),
        ("Oops: int3: 0000 [#1] SMP KASAN NOPTI", "int3 in guilty_function"),
    ],
)
def test_fault_titles_take_the_instruction_pointer(header: str, title: str):
    report = first(rip_report(header))
    assert report.title == title
    assert report.ip.function == "guilty_function"
    assert report.code == "0f 1f 44 00 00 55 48 89 e5 <0f> 0b 5d c3"
    assert report.registers["RAX"] == "0000000000000000" and report.registers["RSP"] == "0018:ffffc900002afce8"
    assert (report.cpu, report.pid, report.comm, report.taint, report.release) == (1, 50, "sh", "G    B   W",
                                                                                    "6.12.0")
    assert report.hardware.startswith("QEMU Standard PC")
    # The panic that follows belongs to the same report.
    assert len(parse_log(rip_report(header)).reports) == 1


def test_rcu_stall_names_the_function_before_the_dispatcher():
    text = """[  196.1] INFO: rcu_sched detected stalls on CPUs/tasks:
[  196.1] Call Trace:
[  196.1]  <IRQ>
[  196.1]  sched_show_task+0x4a3/0x5e0
[  196.1]  rcu_check_callbacks+0x256/0xd00
[  196.1]  apic_timer_interrupt+0xa9/0xb0
[  196.1]  </IRQ>
[  196.4] RIP: 0010:check_memory_region+0x38/0x190
[  196.5]  memcpy+0x37/0x50
[  196.5]  mulaw_decode+0x52f/0x770
[  196.5]  snd_pcm_oss_write+0x5fe/0x830
[  196.6]  __vfs_write+0xef/0x970
[  196.6]  vfs_write+0x189/0x510
[  196.6]  SyS_write+0xef/0x220
[  196.6]  entry_SYSCALL_64_fastpath+0x23/0x9a
"""
    report = first(text)
    assert report.title == "INFO: rcu detected stall in snd_pcm_oss_write"
    assert report.alt_titles == ["stall in snd_pcm_oss_write"]


def test_hung_tasks_on_rtnl_share_one_title():
    text = """[ 1.0] INFO: task syz:1217 blocked for more than 143 seconds.
[ 1.0] Call Trace:
[ 1.0]  __schedule+0x94f/0x1e70
[ 1.0]  schedule+0xd9/0x260
[ 1.0]  __mutex_lock+0x7b0/0x13c0
[ 1.0]  rtnl_lock+0x17/0x20
[ 1.0]  dev_ioctl+0x1a4/0xc60
"""
    assert first(text).title == "INFO: task hung in rtnl_lock"


def test_lockdep_circular_dependency():
    text = """[ 1.0] ======================================================
[ 1.0] WARNING: possible circular locking dependency detected
[ 1.0] 6.1.0 #1 Not tainted
[ 1.0] ------------------------------------------------------
[ 1.0] syz/1 is trying to acquire lock:
[ 1.0] ffff8880 (&mm->mmap_lock){++++}-{3:3}, at: vcs_read+0x1/0x2
[ 1.0] but task is already holding lock:
[ 1.0] ffff8881 (console_lock){+.+.}-{0:0}, at: other_fn+0x1/0x2
"""
    assert first(text).title == "possible deadlock in vcs_read"


def test_syscall_prefixes_are_dropped_from_titles():
    text = rip_report("general protection fault: 0000 [#1] SMP KASAN").replace(
        "RIP: 0010:guilty_function+0x1f/0x30 [mymod]", "RIP: 0010:__se_sys_mremap+0x25fa/0x2c00")
    assert first(text).title == "general protection fault in mremap"


def test_report_without_any_usable_frame_is_corrupted():
    report = first("[ 1.0] ------------[ cut here ]------------\n"
                   "[ 1.0] WARNING: CPU: 3 PID: 1975 at fs/locks.c:241 locks_free_lock_context+0x118/0x180()\n")
    assert report.title == "WARNING in corrupted" and report.corrupted


@pytest.mark.parametrize(
    "text, title",
    [
        ("[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n",
         "kernel panic: Attempted to kill init!"),
        ("[ 1.0] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 58s!\n",
         "BUG: workqueue lockup"),
        ("[ 1.0] unregister_netdevice: waiting for lo to become free. Usage count = 2\n",
         "unregister_netdevice: waiting for DEV to become free"),
        ("[ 1.0] INFO: Freed in fasync_free_rcu+0x14/0x20 age=624 cpu=0 pid=3\n",
         "INFO: Freed in fasync_free_rcu age=NUM cpu=NUM pid=NUM"),
    ],
)
def test_titles_without_frames_have_stable_numbers(text: str, title: str):
    assert first(text).title == title


@pytest.mark.parametrize(
    "text",
    [
        "[ 1.0] EXT4-fs (loop1): INFO: recovery required on readonly filesystem\n",
        "[ 1.0] [U] [1] INVALID BTF_INFO:72000001\n",
        "[ 1.0] INFO: lockdep is turned off.\n",
        "[ 1.0] WARNING: The mand mount option has been deprecated\n",
        "[ 1.0] ODEBUG: Out of memory. ODEBUG disabled\n",
    ],
)
def test_messages_that_only_look_like_reports_are_left_alone(text: str):
    assert parse_log(text).reports == []


def test_several_reports_are_kept_in_order():
    text = rip_report("kernel BUG at drivers/foo/bar.c:105!") + "[  20.0] boot again\n" + \
        rip_report("WARNING: CPU: 0 PID: 1 at a/b.c:1 guilty_function+0x1f/0x30")
    reports = parse_log(text).reports
    assert [r.title for r in reports] == ["kernel BUG in guilty_function", "WARNING in guilty_function"]
    assert reports[0].end_line < reports[1].start_line


def test_riscv_fault():
    text = """[    1.0] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000
[    1.0] Oops [#1]
[    1.0] CPU: 0 PID: 36 Comm: sh Not tainted 6.12.0 #1
[    1.0] epc : lkdtm_EXCEPTION+0x1a/0x2a [lkdtm]
[    1.0]  ra : lkdtm_do_action+0x1c/0x34 [lkdtm]
[    1.0] epc : ffffffff80a1b2c4 ra : ffffffff80a1b2e0 sp : ff2000000c3d3d20
[    1.0] Call Trace:
[    1.0] [<ffffffff80a1b2c4>] lkdtm_EXCEPTION+0x1a/0x2a [lkdtm]
[    1.0] [<ffffffff80a1b2e0>] lkdtm_do_action+0x1c/0x34 [lkdtm]
"""
    log = parse_log(text)
    report = log.reports[0]
    assert report.title == "BUG: unable to handle kernel NULL pointer dereference in lkdtm_EXCEPTION"
    assert report.ip.function == "lkdtm_EXCEPTION" and report.ip.role == "ip"
    assert [f.role for f in report.frames][:2] == ["ip", "lr"]
    assert report.frames[-1].address == 0xFFFFFFFF80A1B2E0
    assert log.arch == "riscv"


def test_s390_psw_and_parenthesized_frames():
    text = """[    1.0] kernel BUG at drivers/misc/lkdtm/bugs.c:105!
[    1.0] CPU: 0 PID: 36 Comm: sh Not tainted 6.12.0 #1
[    1.0] Krnl PSW : 0704c00180000000 000003ff8001a0f2 (lkdtm_BUG+0x12/0x20 [lkdtm])
[    1.0] Call Trace:
[    1.0]  [<000003ff8001a0f2>] lkdtm_BUG+0x12/0x20 [lkdtm]
[    1.0] ([<000003ff8001a0e6>] lkdtm_do_action+0x6/0x20 [lkdtm])
"""
    log = parse_log(text)
    report = log.reports[0]
    # Spec §14.10 10.3 (standard oops rule): the frame comes from a RIP-line; s390's PSW line is none,
    # so syzkaller titles it "in corrupted" (spec §10.1 "extracted no frames").
    assert report.title == "kernel BUG in corrupted" and report.corrupted_reason == "extracted no frames"
    assert report.ip.function == "lkdtm_BUG" and report.ip.address == 0x3FF8001A0F2
    assert report.frames[-1].function == "lkdtm_do_action" and report.frames[-1].module == "lkdtm"
    assert log.arch == "s390"


def test_i386_eip_is_at():
    text = """[    1.0] BUG: unable to handle kernel NULL pointer dereference at 00000000
[    1.0] IP: [<c1234567>] lkdtm_EXCEPTION+0x8/0x10 [lkdtm]
[    1.0] EIP: 0060:[<c1234567>] EFLAGS: 00010246 CPU: 0
[    1.0] EIP is at lkdtm_EXCEPTION+0x8/0x10 [lkdtm]
[    1.0] EAX: 00000000 EBX: f5a1b000 ECX: 00000001 EDX: 00000000
[    1.0] Call Trace:
[    1.0]  [<c1234599>] ? lkdtm_do_action+0x13/0x20 [lkdtm]
"""
    log = parse_log(text)
    report = log.reports[0]
    assert report.title == "BUG: unable to handle kernel NULL pointer dereference in lkdtm_EXCEPTION"
    assert report.registers["EAX"] == "00000000"
    assert log.arch == "i386"


def test_kcsan_data_race_names_both_functions():
    text = """[ 1.0] ==================================================================
[ 1.0] BUG: KCSAN: data-race in __filemap_add_folio / folio_mapping
[ 1.0]
[ 1.0] write to 0xffffea0004 of 8 bytes by task 1 on cpu 0:
[ 1.0]  __filemap_add_folio+0x1/0x2
"""
    assert first(text).title == "KCSAN: data-race in __filemap_add_folio / folio_mapping"


def test_lines_of_other_tasks_are_skipped_when_caller_ids_are_printed():
    text = """[ 1.0][ T100] INFO: trying to register non-static key.
[ 1.0][ T100] Call Trace:
[ 1.0][ T100]  dump_stack+0x1/0x2
[ 1.0][ T200] ------------[ cut here ]------------
[ 1.0][ T200] WARNING: CPU: 1 PID: 200 at kernel/locking/lockdep.c:3553 lock_downgrade+0x4d2/0x910
[ 1.0][ T200]  other_task_function+0x1/0x2
[ 1.0][ T100]  register_lock_class+0x1/0x2
[ 1.0][ T100]  vkms_atomic_crtc_destroy_state+0x2d/0x40
[ 1.0][ T200]  more_of_the_other_task+0x1/0x2
"""
    reports = parse_log(text).reports
    assert reports[0].title == "INFO: trying to register non-static key in vkms_atomic_crtc_destroy_state"
    functions = [f.function for f in reports[0].frames]
    assert "vkms_atomic_crtc_destroy_state" in functions and "other_task_function" not in functions
    assert reports[1].title.startswith("WARNING")


def test_decoded_logs_get_the_same_title():
    text = """[ 6.9] ------------[ cut here ]------------
[ 6.9] WARNING: CPU: 1 PID: 50 at drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING (drivers/misc/lkdtm/bugs.c:112) lkdtm
[ 6.9] RIP: 0010:lkdtm_WARNING (drivers/misc/lkdtm/bugs.c:112 (discriminator 1)) lkdtm
[ 6.9] Code: 83 05 f9 01 01 00 01 75 01 c3 <0f> 0b c3
All code
========
   0:\t0f 0b                \tud2\t\t<-- trapping instruction

Code starting with the faulting instruction
===========================================
   0:\t0f 0b                \tud2
[ 6.9] Call Trace:
[ 6.9]  <TASK>
[ 6.9] lkdtm_do_action (drivers/misc/lkdtm/core.c:166) lkdtm
[ 6.9] direct_entry (drivers/misc/lkdtm/core.c:334) lkdtm
[ 6.9] ---[ end trace 0000000000000000 ]---
"""
    report = first(text)
    # Titles are made before symbolisation (spec §1): decoded `func (file:line)` frames are no {FUNC}
    # (spec §0), so no WARNING format matches and the header line is the title (spec §5.3).
    assert report.title.startswith("WARNING: CPU: NUM PID: NUM at drivers/misc/lkdtm/bugs.c:LINE lkdtm_WARNING")
    assert not report.corrupted
    assert [f.function for f in report.frames if f.role == "frame"] == ["lkdtm_do_action", "direct_entry"]


ARM64_OOPS_TAIL = """[   40.000005] CPU: 0 PID: 50 Comm: sh Not tainted 6.6.0 #1
[   40.000007] pc : foo_write+0x1c/0x60
[   40.000008] lr : vfs_write+0xc0/0x2a0
[   40.000010] Call trace:
[   40.000011]  foo_write+0x1c/0x60
[   40.000012]  vfs_write+0xc0/0x2a0
[   40.000014] ---[ end trace 0000000000000000 ]---
"""


@pytest.mark.parametrize("header, title", [
    # Spec §3.4: the line belongs to the BUG: group; no BUG: format matches, so the title is the text
    # from "BUG:" on (§5.3), normalised (§11).
    ("Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP", "BUG: ADDR [#NUM] PREEMPT SMP"),
    ("Internal error: Oops - undefined instruction: 0000000002000000 [#1] PREEMPT SMP",
     "Internal error in foo_write"),
])
def test_standalone_arm64_oopses(header, title):
    assert [r.title for r in parse_log(f"[   40.000003] {header}\n" + ARM64_OOPS_TAIL).reports] == [title]


def test_arm64_bug_oops_joins_the_kernel_bug_at_line():
    log = ("[   40.000001] kernel BUG at fs/inode.c:611!\n"
           "[   40.000003] Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP\n" + ARM64_OOPS_TAIL)
    assert [r.title for r in parse_log(log).reports] == ["kernel BUG in foo_write"]


RISCV_TAIL = """[    1.0] Modules linked in:
[    1.0] CPU: 0 PID: 36 Comm: sh Not tainted 6.12.0 #1
[    1.0] epc : foo_write+0x1a/0x2a
[    1.0]  ra : vfs_write+0x1c/0x34
[    1.0] status: 0000000200000120 badaddr: 0000000000000000 cause: 0000000000000002
[    1.0] Call Trace:
[    1.0] [<ffffffff80a1b2c4>] foo_write+0x1a/0x2a
[    1.0] [<ffffffff80a1b2e0>] vfs_write+0x1c/0x34
[    1.0] ---[ end trace 0000000000000000 ]---
"""


@pytest.mark.parametrize("kind", ["illegal instruction", "load access fault"])
def test_riscv_oops(kind):
    log = f"[    1.0] Oops - {kind} [#1]\n" + RISCV_TAIL
    # "Oops - " is no oops group header (spec §3.1): only the panic that follows would be a report.
    assert [r.title for r in parse_log(log).reports] == []
    panicked = parse_log(log + "[    1.1] Kernel panic - not syncing: Fatal exception\n").reports
    assert [(r.title, r.corrupted_reason) for r in panicked] == [
        ("kernel panic: Fatal exception", "report format is marked as corrupted")]


def test_s390_pointer_dereference_names_the_function():
    log = """[    1.0] Unable to handle kernel pointer dereference in virtual kernel address space
[    1.0] Failing address: 0000000000000000 TEID: 0000000000000483
[    1.0] Oops: 0004 ilc:3 [#1] SMP
[    1.0] Krnl PSW : 0704c00180000000 000003ff8001a0f2 (foo_write+0x12/0x20)
[    1.0] Call Trace:
[    1.0]  [<000003ff8001a0f2>] foo_write+0x12/0x20
[    1.0]  [<000003ff8001a0e6>] vfs_write+0x6/0x20
[    1.0] ---[ end trace 0000000000000000 ]---
"""
    # Group 4 has one format (spec §14.4) and "pointer dereference" is not among its words: the header
    # line is the title, not corrupted (spec §5.3).
    [report] = parse_log(log).reports
    assert report.title == "Unable to handle kernel pointer dereference in virtual kernel address space"
    assert not report.corrupted
