"""syzkaller's reporter, spec §14.4-§14.23 (Unable to handle kernel, general protection fault, stack
segment, Kernel panic, double fault, rust panics, kernel BUG, Kernel BUG, BUG kmalloc-, divide error,
invalid opcode, int3, UBSAN, reboots, netdev and VFS messages, ARM faults, trusty, Go and syzkaller
failures), pinned with synthetic logs in the kernel's real shapes, written from
../shared/reference/syzkaller-report-rules.md."""

import pytest

from workers.parser import parse_log

P = "[   52.123456][ T5123] "
REGS = ["RSP: 0018:ffffc90003a7f9c8 EFLAGS: 00010293", "RAX: 0000000000000000 RBX: 0000000000000001"]
CALL = ["Call Trace:", " <TASK>", " guilty_fn+0x1/0x2", " caller_fn+0x1/0x2", " </TASK>"]
ARM_TRACE = ["Backtrace:", "[<c0123456>] (arm_fn) from [<c0234567>] (caller_fn+0x10/0x20)",
             "[<c0123456>] (caller_fn) from [<c0234567>] (top_fn+0x10/0x20)"]


def log_of(*texts: str, prefix: str = P) -> str:
    return "".join(prefix + t + "\n" for t in texts)


def first(log: str):
    reports = parse_log(log).reports
    assert reports, "no report"
    return reports[0]


CASES = {
    # §14.4: arm64 and arm32 faults (SOR: pc/PC is at, then the trace).
    "arm64 null": (["Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008",
                    "Mem abort info:", "Internal error: Oops: 96000006 [#1] PREEMPT SMP",
                    "pstate: 80400005 (Nzcv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)", "pc : null_fn+0x1c/0x30",
                    "lr : caller_fn+0x1/0x2", "sp : ffff80008000bd00", "Call trace:", " null_fn+0x1c/0x30",
                    " caller_fn+0x1/0x2", "Code: d503233f a9bf7bfd 910003fd f9400400 (f9400400)"],
                   "BUG: unable to handle kernel NULL pointer dereference in null_fn"),
    "arm32 paging": (["8<--- cut here ---", "Unable to handle kernel paging request at virtual address e0000000",
                      "Internal error: Oops: 5 [#1] SMP ARM", "PC is at arm_fn+0x10/0x20",
                      "LR is at caller_fn+0x1/0x2", *ARM_TRACE],
                     "BUG: unable to handle kernel paging request in arm_fn"),
    "other unable to handle": (["Unable to handle kernel execute from non-executable memory at virtual address "
                                "ffff0000", "pc : 0xffff0000", "Call trace:", " 0xffff0000", " caller_fn+0x1/0x2"],
                               "Unable to handle kernel execute from non-executable memory at virtual address ADDR"),
    # §14.5, §14.6
    "gpf": (["general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] "
             "PREEMPT SMP KASAN", "KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]",
             "CPU: 0 PID: 5123 Comm: syz.0.1 Not tainted 6.1.0 #0", "RIP: 0010:gpf_fn+0x1/0x2 net/x.c:1", *REGS,
             *CALL], "general protection fault in gpf_fn"),
    "gpf old": (["general protection fault: 0000 [#1] SMP KASAN",
                 "RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] __lock_acquire+0x1/0x2", *REGS, *CALL],
                "general protection fault in guilty_fn"),
    "stack segment": (["stack segment: 0000 [#1] PREEMPT SMP KASAN", "RIP: 0010:ss_fn+0x1/0x2", *REGS, *CALL],
                      "stack segment fault in ss_fn"),
    # §14.7
    "stack protector": (["Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
                         "br_dev_xmit+0x1/0x2", "CPU: 0 PID: 1 Comm: syz Not tainted"],
                        "kernel panic: stack is corrupted in br_dev_xmit"),
    "stack protector raw": (["Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
                             "ffffffff81234567", "Call Trace:", " dump_stack+0x1/0x2", " panic+0x1/0x2",
                             " __stack_chk_fail+0x1/0x2", " sp_fn+0x1/0x2", " caller_fn+0x1/0x2"],
                            "kernel panic: stack is corrupted in sp_fn"),
    "stack end": (["Kernel panic - not syncing: corrupted stack end detected inside scheduler", "Call Trace:",
                   " dump_stack+0x1/0x2", " panic+0x1/0x2", " schedule+0x1/0x2", " wb_workfn+0x1/0x2",
                   " process_one_work+0x1/0x2", " worker_thread+0x1/0x2"],
                  "kernel panic: corrupted stack end in wb_workfn"),
    "stack overflow": (["Kernel panic - not syncing: kernel stack overflow", "Call Trace:", " <#DF>",
                        " dump_stack+0x1/0x2", " handle_stack_overflow+0x1/0x2", " deep_fn+0x1/0x2",
                        " do_syscall_64+0x1/0x2"], "kernel stack overflow in deep_fn"),
    "kill init": (["Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", *CALL],
                  "kernel panic: Attempted to kill init!"),
    "n_tty": (["Kernel panic - not syncing: Couldn't open N_TTY ldisc for ptm2 --- error -12.", *CALL],
              "kernel panic: Couldn't open N_TTY ldisc"),
    "generic panic": (["Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)", *CALL],
                      "kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)"),
    # §14.8-§14.9
    "double fault": (["PANIC: double fault, error_code: 0x0", "RIP: 0010:df_fn+0x1/0x2", *REGS, *CALL],
                     "PANIC: double fault in df_fn"),
    "rust": (["rust_kernel: panicked at rust/kernel/x.rs:10:5:", "attempt to add with overflow", "Call Trace:",
              " <TASK>", " _RNvCs1234_7___rustc17rust_begin_unwind+0x1/0x2",
              " _RNvNtCs1234_4core9panicking9panic_fmt+0x1/0x2", " _RNvNtCs1234_6kernel4sync4wait+0x1/0x2",
              " caller+0x1/0x2"], "attempt to add with overflow in kernel::sync::wait"),
    # §14.10-§14.12
    "bug usercopy": (["kernel BUG at mm/usercopy.c:99!", "invalid opcode: 0000 [#1] PREEMPT SMP KASAN",
                      "RIP: 0010:usercopy_abort+0x1/0x2", *REGS, "Call Trace:", " __check_object_size+0x1/0x2",
                      " uc_fn+0x1/0x2", " caller_fn+0x1/0x2"], "BUG: bad usercopy in uc_fn"),
    "bug list": (["kernel BUG at lib/list_debug.c:59!", "invalid opcode: 0000 [#1] PREEMPT SMP KASAN",
                  "RIP: 0010:__list_del_entry_valid+0x1/0x2", *REGS, "Call Trace:",
                  " __list_del_entry_valid+0x1/0x2", " ld_fn+0x1/0x2", " caller_fn+0x1/0x2"],
                 "BUG: corrupted list in ld_fn"),
    "kernel bug": (["kernel BUG at fs/ext4/inode.c:1234!", "invalid opcode: 0000 [#1] PREEMPT SMP KASAN",
                    "RIP: 0010:kb_fn+0x1/0x2", *REGS, *CALL], "kernel BUG in kb_fn"),
    "kernel bug arm64": (["kernel BUG at fs/ext4/inode.c:1234!",
                          "Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP", "pc : kb_fn+0x1/0x2",
                          "lr : kb_fn+0x1/0x2", "Call trace:", " kb_fn+0x1/0x2", " caller_fn+0x1/0x2"],
                         "kernel BUG in kb_fn"),
    "kernel bug skb": (["kernel BUG at net/core/skbuff.c:1234!", "invalid opcode: 0000 [#1] PREEMPT SMP KASAN",
                        "RIP: 0010:skb_panic+0x1/0x2", *REGS, "Call Trace:", " skb_put+0x1/0x2",
                        " ipgre_header+0x1/0x2"], "kernel BUG in ipgre_header"),
    "Kernel BUG": (["Kernel BUG at ffffffff81234567 [verbose debug info unavailable]", *CALL],
                   "kernel BUG at ADDR [verbose debug info unavailable]"),
    "slub free": (["BUG kmalloc-64 (Not tainted): Object already free", "-" * 40, *CALL],
                  "BUG: Object already free"),
    "slub other": (["BUG kmalloc-64 (Not tainted): Poison overwritten", "-" * 40, *CALL],
                   "BUG kmalloc-NUM (Not tainted): Poison overwritten"),
    # §14.13-§14.16
    "divide": (["divide error: 0000 [#1] PREEMPT SMP KASAN", "RIP: 0010:tabledist+0x1/0x2", *REGS, *CALL],
               "divide error in tabledist"),
    "divide_": (["divide_error: 0000 [#1] SMP", "RIP: 0010:tabledist+0x1/0x2", *REGS, *CALL],
                "divide error in tabledist"),
    "invalid opcode": (["invalid opcode: 0000 [#1] PREEMPT SMP KASAN", "RIP: 0010:io_fn+0x1/0x2", *REGS, *CALL],
                       "invalid opcode in io_fn"),
    "int3": (["int3: 0000 [#1] PREEMPT SMP KASAN", "RIP: 0010:__pmd_alloc+0x1/0x2", *REGS, *CALL],
             "int3 in __pmd_alloc"),
    # §14.16: 17.1 is tried first for every UBSAN line; `ubsan`/`overflow` names are skipped.
    "ubsan old": (["UBSAN: Undefined behaviour in fs/x.c:12:3", "shift exponent 32 is too large", *CALL],
                  "UBSAN: undefined-behaviour in guilty_fn"),
    "ubsan array": (["UBSAN: array-index-out-of-bounds in fs/x.c:12:3", "index 5 is out of range", *CALL],
                    "UBSAN: array-index-out-of-bounds in guilty_fn"),
    "ubsan shift": (["UBSAN: shift-out-of-bounds in fs/x.c:12:3", "shift exponent 32 is too large", "Call Trace:",
                     " <TASK>", " dump_stack_lvl+0x1/0x2", " ubsan_epilogue+0x1/0x2",
                     " __ubsan_handle_shift_out_of_bounds+0x1/0x2", " check_overflow_fn+0x1/0x2", " sh_fn+0x1/0x2"],
                    "UBSAN: shift-out-of-bounds in sh_fn"),
    # §14.17-§14.21
    "netdev": (["unregister_netdevice: waiting for lo to become free. Usage count = 2"],
               "unregister_netdevice: waiting for DEV to become free"),
    "vfs close": (["VFS: Close: file count is 0"], "VFS: Close: file count is zero (use-after-free)"),
    "vfs busy": (["VFS: Busy inodes after unmount of loop0 (ext4). Self-destruct in 5 seconds.  Have a nice day..."],
                 "VFS: Busy inodes after unmount (use-after-free)"),
    "internal error": (["Internal error: Oops: 5 [#1] SMP ARM", "PC is at arm_fn+0x10/0x20",
                        "LR is at caller_fn+0x1/0x2", *ARM_TRACE], "Internal error in arm_fn"),
    "unhandled fault": (["Unhandled fault: page domain fault (0x01b) at 0x00000000", "Internal error: : 1b [#1] SMP",
                         "PC is at arm_fn+0x10/0x20", *ARM_TRACE], "Unhandled fault in arm_fn"),
    "alignment trap": (["Alignment trap: not handling instruction e1902f9f at [<c0123456>]",
                        "Internal error: Oops: 1 [#1] SMP ARM", "PC is at arm_fn+0x10/0x20", *ARM_TRACE],
                       "Alignment trap in arm_fn"),
    "trusty assert": (["trusty: panic (lib/x.c:12): ASSERT FAILED at (lib/x.c:12): list_in_list(&ref->ref_node)"],
                      "trusty: ASSERT FAILED: list_in_list(&ref->ref_node)"),
    "trusty panic": (["trusty: panic (lib/x.c:12): something bad"], "trusty: panic: something bad"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_formats(name):
    texts, title = CASES[name]
    report = first(log_of(*texts))
    assert (report.title, report.corrupted, report.corrupted_reason) == (title, False, "")


def test_alternatives_of_the_fault_formats():
    assert first(log_of(*CASES["gpf"][0])).alt_titles == ["bad-access in gpf_fn"]
    assert first(log_of(*CASES["ubsan array"][0])).alt_titles == ["bad-access in guilty_fn"]
    assert first(log_of(*CASES["stack overflow"][0])).alt_titles == ["stack-overflow in deep_fn"]


@pytest.mark.parametrize("head, title", [
    ("Kernel panic - not syncing: Fatal exception in interrupt", "kernel panic: Fatal exception"),
    ("Kernel panic - not syncing: panic_on_warn set ...", "kernel panic: panic_on_warn set"),
    ("Kernel panic - not syncing: hung_task: blocked tasks", "kernel panic: hung_task: blocked tasks"),
])
def test_panics_that_lost_their_report_are_always_corrupted(head, title):
    report = first(log_of(head, *CALL))
    assert (report.title, report.corrupted_reason) == (title, "report format is marked as corrupted")


def test_the_end_marker_of_a_panic_can_start_a_report():
    report = first(log_of("---[ end Kernel panic - not syncing: Out of memory and no killable processes... ]---"))
    assert report.title == "kernel panic: Out of memory and no killable processes... ]---"
    assert report.corrupted_reason == "no stack trace in report"  # 7.10 is stack-checked


def test_rip_only_formats_have_no_call_trace_fallback():
    report = first(log_of("PANIC: double fault, error_code: 0x0", "RIP: 0010:lock_acquire+0x1/0x2", *REGS, *CALL))
    assert (report.title, report.corrupted_reason) == ("PANIC: double fault in corrupted", "extracted no frames")


def test_user_space_gpf_lines_start_no_report():
    log = log_of("traps: syz[123] general protection fault ip:7f0000 sp:7ffd error:0 in libc.so[7f0000+1000]")
    assert parse_log(log).reports == []


@pytest.mark.parametrize("line, title", [
    ("fatal error: all goroutines are asleep - deadlock!", "go runtime error"),
    ("SYZFAIL: failed to recv rpc", "SYZFAIL: failed to recv rpc"),
    ("SYZFATAL: executor failed", "SYZFATAL: executor failed"),
    ("panic: runtime error: index out of range", "panic: runtime error: index out of range"),
    ("panic: Sentry detected 2 stuck task(s):", "panic: Sentry detected stuck tasks"),
])
def test_syzkaller_and_go_failures(line, title):
    report = first(line + "\n")
    assert (report.title, report.corrupted) == (title, False)


def test_reboot_needs_the_line_to_begin_with_it():
    assert first(log_of("random: crng init done", "Booting the kernel.")).title == "unexpected kernel reboot"
    assert first(log_of("random: crng init done", "x Booting the kernel.")).title == "Booting the kernel."
    assert parse_log(log_of("random: crng init done", "Decompressing Linux... Parsing ELF... done. "
                            "Booting the kernel.")).reports == []
