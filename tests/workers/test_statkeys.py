"""The 0-day robot's stat keys: one rule per test on small synthetic logs, then the lkp fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.statkeys import stat_keys
from workers.statkeys.normalize import analyze_error_id, common_error_id

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
LKP = SHARED / "corpus" / "lkp"


def keys(*lines: str) -> list[str]:
    return stat_keys("\n".join(lines) + "\n")[0]


def key(line: str) -> str:
    return analyze_error_id(line)[0]


# --- normalisation of one line ---------------------------------------------------------------

def test_numbers_become_hash_and_spaces_underscores():
    assert common_error_id("BUG: soft lockup - CPU#0 stuck for 23s! [swapper:1]") == \
        "BUG:soft_lockup-CPU##stuck_for#s![swapper:#]"


def test_trailing_punctuation_is_cut():
    assert common_error_id("Kernel panic - not syncing: Attempted to kill init! exitcode=") == \
        "Kernel_panic-not_syncing:Attempted_to_kill_init!exitcode="
    assert common_error_id("Mem-Info:") == "Mem-Info"


def test_die_head_keeps_counter_and_drops_config_flags():
    assert key("Oops: 0002 [#1] SMP DEBUG_PAGEALLOC KASAN") == "Oops:#[##]"
    assert key("general protection fault: 0000 [#1] PREEMPT SMP KASAN") == "general_protection_fault:#[##]"
    assert key("divide_error: 0000 [#1]") == "divide_error:#[##]"
    assert key("stack guard page: 0000 [#1] PREEMPT SMP KASAN") == "stack_guard_page:#[##]"


def test_oops_with_non_x86_code_or_kind_keeps_whole_line():
    assert key("Oops: 5 [#1] SMP ARM") == "Oops:#[##]SMP_ARM"
    assert key("Oops: invalid opcode: 0000 [#1] SMP KASAN PTI") == "Oops:invalid_opcode:#[##]SMP_KASAN_PTI"


def test_rip_drops_code_segment_addresses_and_offsets():
    assert key("RIP: 0010:[<ffffffff8132969a>]  [<ffffffff8132969a>] insert_augmented+0x34/0x8e") == \
        "RIP:insert_augmented"
    assert key("RIP: 0010:__nr_to_section+0x23/0x48") == "RIP:__nr_to_section"
    assert key("EIP: delay_tsc+0x3b/0xe0") == "EIP:delay_tsc"


def test_warning_keeps_file_and_function_not_line_number():
    assert key("WARNING: CPU: 1 PID: 178 at arch/x86/include/asm/fpu/internal.h:534 __fpregs_activate+0x59/0xf8") \
        == "WARNING:at_arch/x86/include/asm/fpu/internal.h:#__fpregs_activate"
    assert key("WARNING: CPU: 1 PID: 356 at kernel/sched/core.c:7497 __might_sleep+0x75/0x80()") == \
        "WARNING:at_kernel/sched/core.c:#__might_sleep()"


def test_warning_without_function_offset_keeps_cpu_and_pid():
    assert key("WARNING: CPU: 3 PID: 77 at kernel/foo.c:12") == "WARNING:CPU:#PID:#at_kernel/foo.c"


def test_kasan_key_stops_at_function():
    assert key("BUG: KASAN: slab-out-of-bounds in inotify_read+0x271/0x350 at addr ffff88000b67a3ec") == \
        "BUG:KASAN:slab-out-of-bounds_in_inotify_read"
    assert key("BUG: KASAN: double-free or invalid-free in kvfree+0x36/0x60") == \
        "BUG:KASAN:double-free_or_invalid-free_in_kvfree"
    assert key("BUG: KMSAN: kernel-infoleak in _copy_to_iter+0x870/0x1fd0") == \
        "BUG:KMSAN:kernel-infoleak_in_copy_to_iter"


def test_fixed_heads_cut_varying_tail():
    assert key("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 58s!") == \
        "BUG:workqueue_lockup-pool"
    assert key("BUG: unable to handle kernel paging request at ffff88002bde1e40") == "BUG:unable_to_handle_kernel"
    assert key("INFO: task kworker/0:1:764 blocked for more than 120 seconds.") == \
        "INFO:task_blocked_for_more_than#seconds"
    assert key("kernel BUG at lib/list_debug.c:53!") == "kernel_BUG_at_lib/list_debug.c"
    assert key("BUG: Dentry ffff880175978600{i=8bb9,n=lo}  still in use (1) [unmount of proc proc]") == \
        "BUG:Dentry_still_in_use"


def test_stack_guard_page_keys_as_in_lkp_reports():
    assert key("BUG: #DF stack guard page was hit at ffffc90000be7ff8 (stack is ffffc90000be8000..ffffc90000beffff)") \
        == "BUG:#DF_stack_guard_page_was_hit_at#(stack_is#..#)"
    assert key("BUG: TASK stack guard page was hit at (____ptrval____) (stack is (____ptrval____)..(____ptrval____))") \
        == "BUG:TASK_stack_guard_page_was_hit_at(____ptrval____)(stack_is(____ptrval____)..(____ptrval____))"
    assert key("WARNING: stack recursion on stack type 1") == "WARNING:stack_recursion"
    assert key("WARNING: kernel stack regs at 00000000a1b2c3d4 in swapper/0:0 has bad 'bp' value 0") == \
        "WARNING:kernel_stack"


def test_addresses_and_isra_suffixes_are_dropped():
    assert key("INFO: Slab 0xffffea0002e40f80 objects=20 used=2 fp=0xffff8800b903eaf0 flags=0x40") == \
        "INFO:Slab#objects=#used=#fp=#flags="
    assert key("RIP: 0010:do_ipv6_setsockopt.isra.8+0x3c5/0x39d0") == "RIP:do_ipv6_setsockopt"


def test_numbered_devices_are_one_key():
    assert key("e1000 0000:00:03.0 eth0: Unable to allocate interrupt Error: -16") == \
        key("e1000 0000:00:04.0 eth1: Unable to allocate interrupt Error: -16")


def test_bisect_pattern_stops_at_first_function():
    assert analyze_error_id("RIP: 0010:main_func+0x299/0x369")[1] == "RIP: main_func+0x"


# --- which lines of a console log give keys -----------------------------------------------

def test_clean_log_has_no_keys():
    assert stat_keys("[    0.000000] Linux version 6.1.0\n[    1.0] Freeing unused kernel memory\n") == \
        ([], "dmesg")


def test_boot_failures_comes_first_when_anything_is_found():
    assert keys("[   17.1] Kernel panic - not syncing: Fatal exception") == \
        ["boot_failures", "Kernel_panic-not_syncing:Fatal_exception"]


def test_key_starts_at_report_head_inside_the_line():
    assert keys("[  281.6] watchdog: BUG: soft lockup - CPU#1 stuck for 134s! [syz-executor4:4588]")[1:] == \
        ["BUG:soft_lockup-CPU##stuck_for#s![syz-executor4:#]"]
    assert keys("Internal error: Oops: 96000044 [#1] PREEMPT SMP")[1:] == ["Oops:#[##]PREEMPT_SMP"]


def test_caller_id_prefix_is_skipped():
    assert keys("[   89.6][ T5827] Kernel panic - not syncing: Fatal exception")[1:] == \
        ["Kernel_panic-not_syncing:Fatal_exception"]


def test_lines_that_only_look_like_reports_give_no_key():
    assert keys(
        "[  404.7] ODEBUG: Out of memory. ODEBUG disabled",
        "[    1.0] WARNING: the mand mount option is being deprecated",
        "[  513.6] [ BUG: Invalid wait context ]",
        "[  161.6] RIP: 0033:0x7f5b3c5a1e5d",
        "[  161.6] RIP: kfree+0xb2/0x250 RSP: ffff8801c7edf780",
        "2018/01/09 14:28:48 BUG: memory leak",
    ) == []


def test_new_style_warning_is_not_a_key():
    # lkp's patterns predate `WARNING: file:line at fn+0x.., CPU#n: comm` (Linux 6.16+).
    assert keys("[ 3.0] WARNING: mm/memblock.c:904 at __free_reserved_area+0xd3/0xf0, CPU#0: swapper/0") == []


def test_any_x86_die_head_is_keyed():
    assert keys("[ 1.0] int3: 0000 [#1] SMP", "[ 2.0] Bad pagetable: 0009 [#2] SMP")[1:] == \
        ["int3:#[##]", "Bad_pagetable:#[##]"]


def test_kasan_wild_access_range_and_read_lock_order_heads():
    assert keys("[ 1.0] KASAN: maybe wild-memory-access in range [0x0003088000000018-0x000308800000001f]",
                "[ 2.0] WARNING: HARDIRQ-READ-safe -> HARDIRQ-READ-unsafe lock order detected")[1:] == \
        ["KASAN:maybe_wild-memory-access_in_range[#-#]",
         "WARNING:HARDIRQ-READ-safe->HARDIRQ-READ-unsafe_lock_order_detected"]


def test_segment_related_gpf_keeps_lkp_key():
    assert keys("[ 1.0] segment-related general protection fault: 206c [#2] PTI")[1:] == \
        ["related_general_protection_fault"]


def test_noncanonical_gpf_is_keyed_from_canonical_address():
    assert keys("general protection fault, probably for non-canonical address 0xdffffc0000000002: "
                "0000 [#1] PREEMPT SMP KASAN")[1:] == ["canonical_address#:#[##]"]


def test_mixed_records_are_split_at_the_second_timestamp():
    assert keys("** 4205 printk messages dropped ** [   60.2] Kernel panic - not syncing: Fatal exception")[1:] \
        == ["Kernel_panic-not_syncing:Fatal_exception"]


def test_lockdep_report_gets_a_summary_key():
    got = keys(
        "[  327.9] WARNING: possible circular locking dependency detected",
        "[  327.9] 5.11.0 #1 Tainted: G                T",
        "[  327.9] ------------------------------------------------------",
        "[  327.9] getty/4382 is trying to acquire lock:",
        "[  327.9] 81bdb92c (console_owner){-.-.}-{0:0}, at: console_unlock+0x1d6/0x38d",
        "[  327.9] ",
        "[  327.9] but task is already holding lock:",
        "[  327.9] e9518da0 (&rq->lock){-.-.}-{2:2}, at: rq_lock_irqsave+0xf/0x1f",
    )
    assert got[1:] == [
        "WARNING:possible_circular_locking_dependency_detected",
        "WARNING:possible_circular_locking_dependency_detected_getty_is_trying_to_acquire_lock:"
        "at:console_unlock_but_task_is_already_holding_lock:at:rq_lock_irqsave",
    ]


def test_truncated_lockdep_report_gets_only_its_head():
    assert keys("[ 1.0] WARNING: possible recursive locking detected")[1:] == \
        ["WARNING:possible_recursive_locking_detected"]


# --- call-trace functions -----------------------------------------------------------------

def test_syscall_frames_are_keyed():
    assert keys("[ 6.3]  [<ffffffff811885cd>] SyS_read+0x4d/0xb0")[1:] == ["calltrace:SyS_read"]


def test_frame_above_initcall_workqueue_or_kthread_is_keyed():
    assert keys(
        "[ 90.3]  [<c1740181>] floppy_ready+0x29d/0x4c3",
        "[ 90.3]  [<c173d70a>] fd_timer_workfn+0x9/0xb",
        "[ 90.3]  [<c104c9ec>] process_one_work+0x191/0x2c2",
        "[ 90.3]  [<c104cced>] worker_thread+0x1ac/0x26b",
        "[ 90.3]  [<c1050bd5>] kthread+0xa5/0xaa",
    )[1:] == ["calltrace:fd_timer_workfn"]


def test_unreliable_frames_are_skipped():
    assert keys(
        "[ 8.0]  [<ffffffff82df1977>] rbtree_test_init+0x200/0x317",
        "[ 8.0]  [<ffffffff82df1777>] ? irq_poll_setup+0x43/0x43",
        "[ 8.0]  [<ffffffff82db4794>] do_one_initcall+0xcf/0x1dc",
        "[ 8.0]  [<ffffffff8121b0d7>] ? SyS_open+0x2d/0x40",
    )[1:] == ["calltrace:rbtree_test_init"]


def test_frames_without_addresses_are_not_keyed():
    assert keys("[ 5.0]  cleanup_net+0x51d/0xb10", "[ 5.0]  process_one_work+0x1/0x2",
                "[ 5.0]  __x64_sys_read+0x1/0x2") == []


def test_allocation_failure_suppresses_call_trace_and_meminfo_keys():
    got = keys(
        "[ 111.6] rb_consumer: page allocation failure: order:0, mode:0x24010c0(GFP_KERNEL|__GFP_NORETRY)",
        "[ 111.6]  [<ffffffff812a3fa9>] ring_buffer_consumer_thread+0x49/0x130",
        "[ 111.6]  [<ffffffff81175dd1>] kthread+0x181/0x1a0",
        "[ 111.7] Mem-Info:",
    )
    assert got == ["boot_failures", "page_allocation_failure:order:#,mode:#(GFP_KERNEL|__GFP_NORETRY)"]


def test_meminfo_alone_is_keyed():
    assert keys("[ 159.7] Mem-Info:")[1:] == ["Mem-Info"]


# --- kmsg dumps -------------------------------------------------------------------------

def test_kmsg_error_level_lines_are_keyed_without_boot_failures():
    got, source = stat_keys(
        "kern  :info  : [   43.1] e1000: Intel(R) PRO/1000 Network Driver\n"
        "kern  :err   : [   43.1] genirq: Flags mismatch irq 11. 00200080 (eth0) vs. 00200000 (wdt)\n"
        "kern  :err   : [   43.1] e1000 0000:00:03.0 eth0: Unable to allocate interrupt Error: -16\n"
    )
    assert (got, source) == (["e1000#:#:#eth#:Unable_to_allocate_interrupt_Error"], "kmsg")


def test_kmsg_level_prefixes_and_star_boxes():
    got, source = stat_keys("<0>[    4.7][    T1] **************\n<0>[    4.7][    T1] **   NOTICE   **\n"
                            "<6>[    4.8][    T1] ** not an error **\n")
    assert (got, source) == (["NOTICE"], "kmsg")


def test_user_space_records_are_not_printk_errors():
    got, source = stat_keys("user  :err   : [  838.7] my tool failed\n<11>[  838.8] another tool failed\n"
                            "<3>[  838.9] sd 0:0:0:0: [sda] tag#0 timing out command\n")
    assert (got, source) == (["sd#:#:#:#:[sda]tag##timing_out_command"], "kmsg")


def test_raw_dev_kmsg_records():
    got, source = stat_keys("6,100,5000,-;usb 1-1: new device\n3,101,5001,-;nvme0: I/O timeout\n")
    assert (got, source) == (["nvme#:I/O_timeout"], "kmsg")


def test_kmsg_segfault_line():
    got, _ = stat_keys("kern  :info  : [ 2062.8] pmbench[5394]: segfault at b ip 00007f568fec1ca6 "
                       "sp 00007f54c1bf9d80 error 4 in libc-2.28.so[7f568fea8000+148000]\n")
    assert got == ["segfault_at_ip_sp_error"]


def test_kmsg_sanitizer_reports():
    lines = ["user  :err   : [  838.7] Indirect leak of 7 byte(s) in 1 object(s) allocated from:"]
    funcs = ["strdup", "a", "b", "c", "d", "e", "f"]
    lines += [f"user  :err   : [  838.8]     #{i} 0x7fbe2243e810 in {f} util/x.c:1" for i, f in enumerate(funcs)]
    lines += ["user  :err   : [  839.9] util/cpumap.c:48:22: runtime error: member access within misaligned "
              "address 0x7f0b88b29eaa for type 'struct x', which requires 8 byte alignment"]
    got, _ = stat_keys("\n".join(lines) + "\n")
    assert got == ["sanitizer.indirect_leak/strdup/a/b/c/d/e",
                   "sanitizer.util/cpumap.c:#:#:runtime_error:member_access_within_misaligned_address#"
                   "for_type'struct_x',which_requires#byte_alignment"]


def test_kmsg_dump_with_oops_is_keyed_like_a_console():
    got, source = stat_keys("kern  :err   : [  445.8] [     C15] irq 26: nobody cared (try booting with "
                            "the \"irqpoll\" option)\nkern  :err   : [  445.8] handlers:\n")
    assert (got, source) == (["boot_failures", "irq#:nobody_cared"], "dmesg")


# --- robustness -------------------------------------------------------------------------

def test_huge_line_and_many_frames_give_a_result():
    text = "BUG: " + "a" * 1_000_000 + "+0x1/0x2\n" + "[ 1.0]  [<ffffffff81000000>] f+0x1/0x2\n" * 100_000
    got, source = stat_keys(text)
    assert source == "dmesg" and isinstance(got, list)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes):
    got, source = stat_keys(data.decode("utf-8", "replace"))
    assert source in ("dmesg", "kmsg") and all(isinstance(k, str) and k for k in got)


CRASH_LOG = "\n".join((
    "[   17.07] general protection fault: 0000 [#1] PREEMPT SMP",
    "[   17.07] RIP: 0010:[<ffffffffa0f913db>]  [<ffffffffa0f913db>] init_real_cpu_mask+0x4f/0x115",
    "[   17.09]  [<ffffffffa3cbbc60>] hfi1_mod_init+0x33/0x2f3",
    "[   17.09]  [<ffffffffa3bf8c84>] do_one_initcall+0xa2/0x218",
    "[   17.10] WARNING: possible circular locking dependency detected",
    "[   17.10] getty/4382 is trying to acquire lock:",
    "[   17.10] 81bdb92c (console_owner){-.-.}-{0:0}, at: console_unlock+0x1d6/0x38d",
    "[   17.12] Kernel panic - not syncing: Fatal exception",
))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(CRASH_LOG)), st.integers(0, len(CRASH_LOG)), st.text(max_size=50))
def test_mutated_crash_log_never_raises(cut: int, insert_at: int, junk: str):
    text = CRASH_LOG[:cut] + CRASH_LOG[cut + 7:]
    text = text[:insert_at] + junk + text[insert_at:]
    got, _ = stat_keys(text)
    assert all(isinstance(k, str) and k for k in got)


# --- the 0-day robot's own fixtures -------------------------------------------------------

def _expected(yaml_path: Path) -> set[str]:
    want = set()
    for line in yaml_path.read_text(errors="replace").splitlines():
        if not line.strip() or line.startswith(("message:", "pattern:", "timestamp:", "#")):
            continue
        k, sep, _ = line.rpartition(": ")
        if sep:
            want.add(k)
    return want


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["dmesg", "kmsg", "syzkaller"])
def test_lkp_fixtures_mostly_exact(kind: str):
    folder = LKP / kind
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (shared corpora are not in the repository)")
    pairs = [(p.with_suffix(""), p) for p in sorted(folder.glob("*.yaml")) if os.path.exists(p.with_suffix(""))]
    exact = sum(set(stat_keys(log.read_bytes().decode("utf-8", "replace"))[0]) == _expected(y)
                for log, y in pairs)
    assert pairs and exact / len(pairs) >= 0.95, f"{exact}/{len(pairs)} exact"
