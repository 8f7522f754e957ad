"""The robot's stat keys of whole logs: reading (§2), dmesg-mode selection (§3), the emit loop (§5),
output (§7-8), the mode choice and the spec's worked examples (§12). Logs are synthetic lines written
from the spec; robustness and the lkp fixtures are in test_statkeys_robustness.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.statkeys import stat_keys, stat_keys_strict
from workers.statkeys.reading import chomp, is_printable, read_lines

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
LKP = SHARED / "corpus" / "lkp"
TS = "[   12.345678] "


def dmesg(*lines: str, ts: str = TS) -> list[str]:
    """dmesg-mode keys (without `boot_failures`) of the lines, each with a timestamp."""
    got = stat_keys_strict("".join(ts + line + "\n" for line in lines), "dmesg")[0]
    assert not got or got[0] == "boot_failures"
    return got[1:]


# --- §0.2 and §2: reading ---------------------------------------------------------------------

def test_chomp_removes_one_line_ending():
    assert chomp("x\r\r\n") == "x\r" and chomp("x\n") == "x" and chomp("x\r") == "x" and chomp("x") == "x"


def test_lines_split_on_lf_only_and_lose_one_cr():
    assert read_lines("a\r\nb\rc\nd\r\r\ne\r") == ["a", "b\rc", "d\r", "e"]


def test_printable_allows_tab_nul_and_non_ascii_but_not_controls():
    assert is_printable("a\tb\x00c \u00e9 \u200b \ufffd")
    assert not is_printable("a\x1b[0m") and not is_printable("a\rb") and not is_printable("x\u2028")
    assert not is_printable("x\u0378")  # unassigned


def test_kbuild_source_paths_are_removed_once_per_line():
    assert read_lines("at /kbuild/src/tree1/kernel/x.c and /kbuild/src/tree2/y") == \
        ["at kernel/x.c and /kbuild/src/tree2/y"]
    assert read_lines("at /tmp/kbuild/src/t/kernel/x.c") == ["at /tmpkernel/x.c"]  # rule 2 is dead after rule 1


def test_only_the_first_compiler_suffix_before_an_offset_goes():
    assert read_lines(" a.isra.1+0x1/0x2 b.part.2+0x3/0x4") == [" a+0x1/0x2 b.part.2+0x3/0x4"]
    assert read_lines(" c.constprop.0.isra.0+0x5/0x6") == [" c.constprop.0+0x5/0x6"]
    assert read_lines(" d.isra.1 e") == [" d.isra.1 e"]  # no `+0x` right after


def test_mixed_lines_split_at_the_last_inner_timestamp():
    assert read_lines("junk[    1.200000] x[    2.300000] BUG: y") == \
        ["junk[    1.200000] x", "[    2.300000] BUG: y"]
    assert read_lines("[    1.000000] at start") == ["[    1.000000] at start"]
    assert read_lines("junk[    1.200000][    T1] caller form") == ["junk[    1.200000][    T1] caller form"]


def test_lines_with_their_own_prefix_are_not_split():
    line = "kern  :err   : [    4.000000] text [    5.000000] more"
    assert read_lines(line) == [line]
    assert read_lines("<3>x[    5.000000] more") == ["<3>x[    5.000000] more"]
    assert read_lines("<13>x[    5.000000] more") == ["<13>x", "[    5.000000] more"]  # two digits: split


def test_split_line_is_keyed_from_its_second_part():
    assert dmesg("noise from user space[   13.000000] Kernel panic - not syncing: Fatal exception", ts="") == \
        ["Kernel_panic-not_syncing:Fatal_exception"]


# --- §3.1-3.2 selection -------------------------------------------------------------------------

def test_lines_matching_no_oops_pattern_give_nothing():
    assert dmesg("[ BUG: bad unlock balance detected! ]", "audit: type=1400 audit(1.2:3): error: x",
                 "list_add corruption. prev->next should be next") == []


def test_ignore_patterns_drop_selected_lines():
    assert dmesg("BUG: KASAN: slab-out-of-bounds in kmalloc_oob+0x1/0x2 [kasan_test]",
                 "INFO: NMI handler (perf_irq) took too long to run: 1.2 msecs",
                 "Out of memory: Killed process 12 (trinity-c1)",
                 "Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via "
                 "Spectre v2 BHB attacks!") == []


def test_nul_in_a_small_selection_drops_every_key():
    assert dmesg("Kernel panic - not syncing: a", "BUG: bad \x00 thing") == []
    assert dmesg("Kernel panic - not syncing: a", "nul \x00 elsewhere") == ["Kernel_panic-not_syncing:a"]


def test_nul_late_in_a_large_selection_keeps_the_chunks_before_it():
    def word(i: int) -> str:  # distinct ids that no normalisation step touches
        return "".join(chr(ord("g") + int(d)) for d in str(i))
    got = dmesg(*(f"Kernel panic - not syncing: case {word(i)} {'x' * 100}" for i in range(400)), "BUG: late \x00 nul")
    assert 0 < len(got) < 400 and got[0] == "Kernel_panic-not_syncing:case_g_" + "x" * 100


def test_selected_lines_with_invalid_utf8_are_dropped():
    assert dmesg("BUG: bad \ufffd utf8 here", "Kernel panic - not syncing: b") == ["Kernel_panic-not_syncing:b"]
    log = b"[ 1.0] BUG: bad \xff\xfe utf8 here\n[ 2.0] BUG: real \xef\xbf\xbd replacement char\n"
    assert stat_keys_strict(log)[0] == ["boot_failures", "BUG:real\ufffdreplacement_char"]


def test_kmsg_repairs_each_invalid_sequence_into_an_underscore():
    log = b"kern  :err   : [ 1.0] BUG-less bad \xff\xfe utf8 here\nkern  :err   : [ 1.0] cut \xe2\x82 here\n"
    assert stat_keys_strict(log, "kmsg")[0] == ["BUG-less_bad__utf8_here", "cut_here"]


# --- §3.3 lockdep enrichment -----------------------------------------------------------------

LOCKDEP = (
    "WARNING: possible circular locking dependency detected",
    "6.1.0 #1 Not tainted",
    "------------------------------------------------------",
    "kworker/1:2/33 is trying to acquire lock:",
    "ffff888100aa0000 (&dev->mtx){+.+.}-{3:3}, at: dev_lock+0x10/0x20",
    "",
    "but task is already holding lock:",
    "ffff888100bb0000 (&q->lock){-.-.}-{2:2}, at: queue_take+0x30/0x40",
)


def test_modern_lockdep_report_gives_a_second_key():
    assert dmesg(*LOCKDEP) == [
        "WARNING:possible_circular_locking_dependency_detected",
        "WARNING:possible_circular_locking_dependency_detected_kworker:#is_trying_to_acquire_lock:at:dev_lock"
        "_but_task_is_already_holding_lock:at:queue_take",
    ]


def test_lockdep_window_is_thirty_lines():
    far = (*LOCKDEP[:3], *("filler line",) * 30, *LOCKDEP[3:])
    assert dmesg(*far) == ["WARNING:possible_circular_locking_dependency_detected"]


def test_recursive_lockdep_with_caller_ids_strips_every_bracket():
    got = stat_keys_strict("".join(f"[   1.000000][  T123] {line}\n" for line in (
        "WARNING: possible recursive locking detected",
        "insmod/123 is trying to acquire lock:",
        "ffff (&a->l){+.+.}-{2:2}, at: take_a+0x1/0x2",
        "but task is already holding lock:",
        "ffff (&a->l){+.+.}-{2:2}, at: take_b+0x1/0x2",
    )), "dmesg")[0]
    assert got[2] == "WARNING:possible_recursive_locking_detected_insmod_is_trying_to_acquire_lock:at:take_a" \
                     "_but_task_is_already_holding_lock:at:take_b"


def test_old_bracketed_lockdep_header_adds_no_key():
    assert dmesg("[ INFO: possible circular locking dependency detected ]", "a/1 is trying to acquire lock:",
                 " (x){+.+.}, at: [<ffffffff81000000>] f+0x1/0x2") == \
        ["INFO:possible_circular_locking_dependency_detected"]


def test_lockdep_windows_of_identical_lines_are_concatenated_before_the_first_four():
    head = "WARNING: possible recursive locking detected"
    got = dmesg(head, "a/1 is trying to acquire lock:", "x, at: lock_one+0x1/0x2", head,
                "b/2 is trying to acquire lock:", "y, at: lock_two+0x1/0x2")
    # One window per identical line, both cut to the same first four kept lines.
    assert got[1] == "WARNING:possible_recursive_locking_detected_a_is_trying_to_acquire_lock:at:lock_one" \
                     "_b_is_trying_to_acquire_lock:at:lock_two"


def test_lockdep_line_with_shell_specials_is_not_enriched():
    assert dmesg('WARNING: possible recursive locking detected "x"', "a/1 is trying to acquire lock:") == \
        ["WARNING:possible_recursive_locking_detected~x~"]  # `~` is not in C16's set


def test_bracketed_bug_and_info_headers_skip_their_b_and_i_words():
    assert dmesg("[ BUG: lock held when returning to user space! ]", "[ INFO: inconsistent lock state ]",
                 "[ INFO: suspicious RCU usage. ]") == \
        ["BUG:lock_held_when_returning_to_user_space", "INFO:suspicious_RCU_usage"]


# --- §3.4 classification: captured text, not the line ---------------------------------------

def test_die_header_capture_depends_on_the_prefix():
    assert dmesg("Oops: 0002 [#1] SMP PTI") == ["Oops:#[##]"]  # P93 from the space before `Oops`
    assert dmesg("Oops: 0002 [#1] SMP PTI", ts="") == ["Oops"]  # P55 first at column 0, then S21
    assert dmesg("general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP") == \
        ["canonical_address#:#[##]"]


def test_subsystem_prefix_of_a_bug_line():
    assert dmesg("watchdog: BUG: soft lockup - CPU#0 stuck for 30s! [sh:9]") == \
        ["BUG:soft_lockup-CPU##stuck_for#s![sh:#]"]
    assert dmesg("mydrv: BUG: odd state") == ["mydrv:BUG:odd_state"]


def test_p95_file_line_bang():
    assert dmesg("fs/ext4/inode.c:123 ext4_thing: bad things happen!") == ["fs/ext4/inode.c:#ext4_thing:bad_things_happen"]


def test_first_line_of_a_captured_text_wins_and_ids_are_not_counted():
    assert dmesg("Kernel panic - not syncing: x", "Kernel panic - not syncing: x",
                 "Kernel panic - not syncing: y") == ["Kernel_panic-not_syncing:x", "Kernel_panic-not_syncing:y"]


def test_different_texts_that_normalise_alike_collapse():
    assert dmesg("BUG: sleeping function called from invalid context at mm/slab.c:100",
                 "BUG: sleeping function called from invalid context at mm/slab.c:200") == \
        ["BUG:sleeping_function_called_from_invalid_context_at_mm/slab.c"]


def test_cfi_failure_and_no_cfi_hash():
    assert dmesg("CFI failure at do_ops+0x12/0x34 (target: bad_op+0x0/0x10; expected type: 0x1234)") == \
        ["CFI_failure_at_do_ops"]
    assert dmesg("no CFI hash found at: 0xffffffff81234567 ffffffff81234567") == ["no_CFI_hash_found_at"]


def test_oom_and_mem_info():
    assert dmesg("stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE), order=0", "Mem-Info:") == \
        ["invoked_oom-killer:gfp_mask=0x", "Mem-Info"]
    assert dmesg("Out of memory and no killable processes...") == ["Out_of_memory_and_no_killable_processes"]


def test_new_warning_format_is_only_a_frame():
    assert dmesg("WARNING: mm/page_alloc.c:4000 at alloc_x+0x1/0x2, CPU#1: cc1/77") == []


# --- §3.5 calltrace ---------------------------------------------------------------------------

def frame(fn: str, q: bool = False) -> str:
    return f" [<ffffffff81234567>] {'? ' if q else ''}{fn}+0x4d/0x5b"


def test_frame_before_a_common_context_frame_is_keyed():
    assert dmesg(frame("inner"), frame("my_init"), frame("do_one_initcall"), frame("kernel_init")) == \
        ["calltrace:my_init"]


def test_unreliable_frames_do_not_count_as_previous():
    assert dmesg(frame("mine"), frame("noise", q=True), frame("process_one_work")) == ["calltrace:mine"]


def test_ignored_callers_and_substring_names():
    assert dmesg(frame("worker_thread"), frame("kthread")) == []
    assert dmesg(frame("my_thread_fn"), frame("rcu_kthread")) == ["calltrace:my_thread_fn"]


def test_syscall_frame_is_keyed_itself_and_not_its_previous():
    assert dmesg(frame("vfs_read"), frame("SyS_read")) == ["calltrace:SyS_read"]


def test_no_calltrace_after_an_oom_line():
    assert dmesg("a invoked oom-killer: gfp_mask=0x0, order=0", frame("later"), frame("kthread")) == \
        ["invoked_oom-killer:gfp_mask=0x"]


def test_modern_frames_never_give_calltrace():
    assert dmesg(" my_init+0x1/0x2", " do_one_initcall+0x1/0x2") == []


def test_previous_frame_survives_oops_lines_in_between():
    assert dmesg(frame("early_fn"), "Kernel panic - not syncing: z", frame("kthread")) == \
        ["Kernel_panic-not_syncing:z", "calltrace:early_fn"]


# --- §5 emit loop ----------------------------------------------------------------------------

def test_cpu_clock_throttled_aborts_everything():
    assert dmesg("Kernel panic - not syncing: a", "CPU3: Core temperature above threshold, cpu clock throttled (x)") == []


def test_trinity_oom_stops_later_candidates():
    assert dmesg("Kernel panic - not syncing: first", "trinity-c3 invoked oom-killer: gfp_mask=0x0",
                 "Kernel panic - not syncing: after") == ["Kernel_panic-not_syncing:first"]


def test_hex_dump_lines_are_skipped():
    assert dmesg("Oops: 0000 [#1] SMP " + " ".join(f"{i:02x}" for i in range(16))) == []
    # A `<N>` line is never split (§A.3-4), so a timestamp can stand before a dump at its end.
    assert dmesg("<4>Kernel panic - not syncing: [    1.000000] " + " 0a1b" * 8, ts="") == []
    assert dmesg("<4>Kernel panic - not syncing: [    1.000000] " + " 0a1b2c3d" * 4, ts="") == []
    assert dmesg("<4>Kernel panic - not syncing: [    1.000000] " + " 0a1b2c3d" * 3, ts="") != []


def test_colour_codes_kill_a_dmesg_candidate():
    assert dmesg("BUG: red \x1b[31malert\x1b[0m") == []


def test_digit_classes_are_ascii_and_word_boundaries_unicode():
    # \u0663 (ARABIC-INDIC THREE) is no `D` (and not `A-Z a-z 0-9` for C11, which drops the space
    # after it); `\u00e9` is a word character for WB, so `caf\u00e95` keeps its 5.
    assert dmesg("Kernel panic - not syncing: n\u0663 caf\u00e95 x 7") == \
        ["Kernel_panic-not_syncing:n\u0663caf\u00e95_x"]


def test_short_ids_and_empty_bisects_are_not_emitted():
    assert dmesg("Kernel BUG at") == ["Kernel_BUG_at"]
    assert dmesg("x: Assertion failed") == ["Assertion_failed"]


# --- §7-8 output -----------------------------------------------------------------------------

def test_boot_failures_comes_first_in_dmesg_mode_only():
    assert stat_keys("[ 1.000000] Kernel panic - not syncing: q\n", "dmesg")[0] == \
        ["boot_failures", "Kernel_panic-not_syncing:q"]
    assert stat_keys("kern  :err   : [ 1.000000] mydev: broke down badly\n", "kmsg") == \
        (["mydev:broke_down_badly"], "kmsg")


def test_an_id_starting_with_hash_is_lost_like_a_comment():
    assert stat_keys("kern  :err   : [ 1.000000] abcdef12: something failed badly\n", "kmsg") == ([], "kmsg")


# --- mode choice ----------------------------------------------------------------------------

def test_name_decides_the_mode_like_the_robot_file_names():
    log = "kern  :err   : [ 1.0] mydev: broke down\nkern  :alert : [ 1.1] Kernel panic - not syncing: x\n"
    assert stat_keys(log, "results/kmsg") == (["mydev:broke_down"], "kmsg")
    assert stat_keys(log, "results/dmesg.xz")[1] == "dmesg"
    assert stat_keys(log, "my_kmsg")[1] == "dmesg"  # not the whole word


def test_without_a_name_a_log_without_crash_is_keyed_as_kmsg():
    assert stat_keys("kern  :err   : [ 1.0] mydev: broke down\n") == (["mydev:broke_down"], "kmsg")
    assert stat_keys("[ 1.0] Kernel panic - not syncing: x\n")[1] == "dmesg"
    assert stat_keys("[ 1.0] all is well\n") == ([], "dmesg")
    assert stat_keys("[ 1.0] all is well\n", "boot/dmesg") == ([], "dmesg")
    serial = "[ 1.0] app[3]: segfault at 0 ip 0000 sp 0000 error 4 in a.so\n[ 2.0] Kernel tests: Boot OK!\n"
    assert stat_keys(serial) == ([], "dmesg")  # §4.3: a serial console gives kmsg mode nothing
    assert stat_keys(serial, "kmsg")[0] == ["segfault_at_ip_sp_error", "Kernel_tests:Boot_OK"]


# --- §12 worked examples (the spec's own synthetic lines) --------------------------------------

@pytest.mark.parametrize(("line", "want"), [
    ("WARNING: CPU: 0 PID: 1 at kernel/locking/lockdep.c:3536 lock_release+0x179/0x3b7",
     "WARNING:at_kernel/locking/lockdep.c:#lock_release"),
    ("WARNING: at drivers/gpu/drm/i915/intel_display.c:1234 intel_foo+0x12/0x34 [i915]()",
     "WARNING:at_drivers/gpu/drm/i915/intel_display.c:#intel_foo#()"),
    ("WARNING: CPU: 0 PID: 1 at drivers/net/ethernet/dec/tulip/de2104x.c:3456 de_foo+0x1/0x2",
     "WARNING:at_drivers/net/ethernet/tulip/de2104x.c:#de_foo"),
    ("WARNING: kernel/locking/lockdep.c:4409 at lockdep_foo+0x1/0x2, CPU#2: kworker/u16:3/123",
     "WARNING:kernel/locking/lockdep.c:#at_lockdep_foo,CPU##:kworker/u16"),
    ("WARNING: at blk_foo+0x1/0x2, CPU#12: swapper/12/0", "WARNING:at_blk_foo,CPU##:swapper"),
    ("RIP: 0010:foo.cold.12+0x12/0x34", "RIP:foo.cold"),
    ("EIP: __copy_user_ll+0x12/0x34 SS:ESP: 0068:c0123456", "EIP:__copy_user_ll"),
    ("BUG: stack guard page was hit at 00000000f2a3b4c5 (stack is 0000000012345678..00000000abcdef01)",
     "BUG:stack_guard_page_was_hit_at#(stack_is#..#)"),
    ("INFO: Object 0xffff880012345678 @offset=123 fp=0x0000000000000000", "INFO:Object#@offset=#fp="),
    ("inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.", "inconsistent{HARDIRQ-ON-W}->{IN-HARDIRQ-W}usage"),
    ('Kernel panic - not syncing: built 28-Dec-2013 with "quotes" and $dollar and \\back',
     "Kernel_panic-not_syncing:built#with~quotes~and~dollar_and~back"),
    ("Kernel panic - not syncing: ptr (____ptrval____) bad at 0xABCDEF and 0x",
     "Kernel_panic-not_syncing:ptr(____ptrval____)bad_at#xABCDEF_and0x"),
    ("Kernel panic - not syncing: eth0 cpu3 node1 port2 nvme0n1 sd12 md127 loop7 x86 [x86] (e1000e) :e100:",
     "Kernel_panic-not_syncing:eth#cpu#node#port#nvme#n1_sd#md#loop#(e1000e):e100"),
    ("rsyslogd[123]: bad frame in 32bit sigreturn", "rsyslogd[#]:bad_frame_in#bit_sigreturn"),
    ("initcall bar_init [bar] returned with preemption imbalance",
     "initcall_bar_init[bar]returned_with_preemption_imbalance"),
    ("[drm:intel_foo [i915]] *ERROR* bad", "drm:intel_foo#]"),
    ("BUG kmalloc-512 (Not tainted): Poison overwritten", "BUG_kmalloc-#(Not_tainted):Poison_overwritten"),
    ("genirq: Flags mismatch irq 8. 00000000 (rtc0) vs. 00000080 (rtc0)", "genirq:Flags_mismatch_irq##(rtc#)vs.#(rtc#)"),
    ("irq 9: nobody cared (try booting with the \"irqpoll\" option)", "irq#:nobody_cared"),
    ("---[ end Kernel panic - not syncing: Fatal exception ]---", "Kernel_panic-not_syncing:Fatal_exception"),
    ("page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0",
     "page_allocation_failure:order:#,mode:#(GFP_ATOMIC),nodemask=(null),cpuset=/,mems_allowed="),
    ("refcount_t: saturated; leaking memory.", "saturated;leaking_memory"),
])
def test_worked_examples(line, want):
    assert dmesg(line) == [want]


def test_worked_example_old_format_trace():
    got = dmesg("BUG: scheduling while atomic: swapper/0/0x00000002", frame("dump_stack"), frame("__schedule_bug"),
                frame("printk", q=True), frame("my_fn"), frame("other_fn", q=True), frame("process_one_work"),
                frame("worker_thread"), frame("kthread"), "foo invoked oom-killer: gfp_mask=0x201da, order=0",
                frame("oom_fn"), frame("do_one_initcall"), frame("SyS_read"))
    assert got == ["BUG:scheduling_while_atomic", "calltrace:my_fn", "invoked_oom-killer:gfp_mask=0x"]
