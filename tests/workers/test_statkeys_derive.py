"""§6 of the robot's stat-key spec: one raw key into its id (preprocess, known rules, bisect,
normalisation). Synthetic texts written from the rules; each test names the rule it pins."""

from __future__ import annotations

import pytest

from workers.statkeys.derive import analyze, bisect_of, normalise, preprocess, rewrite


def key(raw: str) -> str:
    return analyze(raw)[0]


# --- §6.1 preprocess ---------------------------------------------------------------------------

def test_preprocess_drops_decode_prefix_caller_id_and_leading_non_letters():
    assert preprocess("kern  :err   : [   3.25] [    T42] mydrv: lost it") == "mydrv: lost it"
    assert preprocess("daemon:notice: hello") == "hello"
    assert preprocess("<3>[ 1.5] x: y") == "x: y"


def test_preprocess_eats_leading_digits_of_a_message():
    assert preprocess("[ 9.0] 3com0: gone") == "com0: gone"


def test_preprocess_replaces_only_the_first_caller_id():
    assert preprocess("abc [  C7] def [ T9] ghi") == "abc  def [ T9] ghi"


# --- §6.2 simple rules -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "want"), [
    ("INFO: rcu_bh self-detected stall on CPU { 3}", "INFO:rcu_bh_self-detected_stall_on_CPU"),  # S1
    ("INFO: rcu_preempt detected stalls on CPUs/tasks: { 2-...}", "INFO:rcu_preempt_detected_stalls_on_CPUs/tasks"),  # S2
    ("stack-segment-related general protection fault: 0000", "related_general_protection_fault"),  # S3
    ("BUG: using __this_cpu_read() in preemptible [00000000] code: a/1", "BUG:using__this_cpu_read()in_preemptible"),  # S4
    ("BUG: unable to handle kernel paging request at 0000", "BUG:unable_to_handle_kernel"),  # S5
    ("BUG: workqueue leaked lock or atomic: kworker/0:2/0x0", "BUG:workqueue_leaked_lock_or_atomic"),  # S8
    ("BUG: scheduling while atomic: sh/77/0x00000100", "BUG:scheduling_while_atomic"),  # S9
    ("BUG: Bad page map in process cat  pte:8000 pmd:1234", "BUG:Bad_page_map_in_process"),  # S10
    ("BUG: Bad page state in process swapper  pfn:0a1b2", "BUG:Bad_page_state_in_process"),  # S11
    ("BUG: Bad page cache in process dd  pfn:77", "BUG:Bad_page_cache_in_process"),  # S12
    ("BUG: soft lockup - CPU#7 stuck for 44s! [kswapd0:88]", "BUG:soft_lockup-CPU##stuck_for#s![kswapd#:#]"),  # S13
    ("BUG: spinlock wrong owner on CPU#2, on CPU#3, init/1", "BUG:spinlock_wrong_owner_on_CPU##,on_CPU"),  # S14 greedy
    ("Out of memory: Kill process 4321 (hog) score 900", "Out_of_memory:Kill_process"),  # S15
    ("Writer stall state RTWS_SYNC(4) g55 c56 f0x0", "Writer_stall_state_RTWS_SYNC"),  # S16
    ("BUG: workqueue lockup - pool cpus=1 node=0", "BUG:workqueue_lockup-pool"),  # S17
    ("rcu_sched kthread starved for 2500 jiffies! g1 c2", "rcu_sched_kthread_starved"),  # S18
    ("Could not create tracefs 'foo' entry", "Could_not_create_tracefs"),  # S19
    ("used greatest stack depth: 10920 bytes left", "used_greatest_stack_depth"),  # S20
    ("Oops: 0010 [#3] PREEMPT", "Oops"),  # S21 (needs the space after `]`)
    ("BUG: KASAN: double-free in kfree_thing+0x9/0x20 [zz]", "BUG:KASAN:double-free_in_kfree_thing"),  # S22
    ("BUG: KFENCE: invalid free in my_free+0x1/0x2", "BUG:KFENCE:invalid_free_in_my_free"),  # S23
    ("Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. More",
     "Kernel_panic-not_syncing:No_working_init_found"),  # S25
    ("Kernel panic - not syncing: No init found.  Try passing init= option to kernel. See",
     "Kernel_panic-not_syncing:No_init_found"),  # S26
])
def test_simple_rules_cut_to_their_fixed_text(text, want):
    assert key(text) == want


def test_s21_without_space_after_the_counter_is_generic():
    assert key(" Oops: 0002 [#1]") == "Oops:#[##]"


def test_s22_function_with_digit_or_module_falls_back_to_generic():
    assert key("BUG: KASAN: slab-use-after-free in ext4_find+0x1/0x2 [ext4]") == \
        "BUG:KASAN:slab-use-after-free_in_ext4_find[ext4]"
    assert key("BUG: KASAN: wild-memory-access in range [0x00-0x0f]") == "BUG:KASAN:wild-memory-access_in_range[#-#]"


def test_first_matching_simple_rule_wins_in_list_order():
    # S5 before S13: both patterns occur; the key is S5's text.
    assert key("BUG: soft lockup - CPU#1 stuck for 2s! BUG: unable to handle kernel x") == "BUG:unable_to_handle_kernel"


# --- §6.2 composite rules ----------------------------------------------------------------------

def test_c1_still_has_locks_held_needs_a_word_before():
    assert rewrite("BUG: mytask/12 still has locks held!") == ("BUG: still has locks held", "still has locks held")
    assert key("BUG: still has locks held!") == "BUG:still_has_locks_held"


def test_c2_hung_task_keeps_only_the_seconds_part():
    assert rewrite("INFO: task jbd2/sda1-8:200 blocked for more than 600 seconds.") == \
        ("INFO: task blocked for more than 600 seconds", "blocked for more than 600 seconds")


# --- §6.2 complex rules -----------------------------------------------------------------------

def test_x1_warning_keeps_from_the_first_at_and_drops_cpu_pid():
    assert key("WARNING: CPU: 2 PID: 9 at fs/inode.c:77 iput_final+0x1/0x2") == "WARNING:at_fs/inode.c:#iput_final"


def test_x1_needs_a_second_token_before_the_function():
    assert key("WARNING: CPU: 1 PID: 5 at my_check+0x1/0x2 [mymod]") == "WARNING:CPU:#PID:#at_my_check[mymod]"


def test_x1_bisect_drops_isra_suffix():
    assert rewrite("WARNING: at a/b.c:1 fn_x.isra.4+0x1/0x2")[1] == "WARNING:.* at .* fn_x"


def test_x2_ubsan_and_smp_processor_id():
    assert key("UBSAN: array-index-out-of-bounds in lib/x.c:12:3") == "UBSAN:array-index-out-of-bounds_in_lib/x.c"
    assert key("BUG: using smp_processor_id() in preemptible [00000000] code: a/1") == \
        "BUG:using_smp_processor_id()in_preemptible"


def test_x2_old_frame_cut_inside_its_address():
    assert preprocess("[<ffffffffa1b2c3d4>] my_irq+0x1/0x2") == "ffffffffa1b2c3d4>] my_irq+0x1/0x2"
    assert key("[<ffffffffa1b2c3d4>] my_irq+0x1/0x2") == "my_irq"


def test_x3_key_and_dentry():
    assert key("BUG: key ffff88800abc not in .data!") == "BUG:key_not_in.data"
    assert key("BUG: Dentry 00000000abcd{i=2,n=x}  still in use (1) [unmount of tmpfs tmpfs]") == \
        "BUG:Dentry_still_in_use"


def test_x4_calltrace_passes_through_with_dots():
    assert analyze("calltrace:my_fn.cold") == ("calltrace:my_fn.cold", "my_fn+0x")


def test_x5_corrupted_low_memory():
    assert key("Corrupted low memory at 00000000deadbeef (7b08 phys) = 27200c000000000") == \
        "Corrupted_low_memory_at#(#phys)="  # C16 drops the trailing `#`


def test_x6_kobject_pointer():
    assert key("kobject (0000000012ab34cd): tried to init an initialized object, something is seriously wrong.") == \
        "kobject(#):tried_to_init_an_initialized_object,something_is_seriously_wrong"
    assert key("kobject ((____ptrval____)): tried to init an initialized object, x") == \
        "kobject(#):tried_to_init_an_initialized_object,x"


def test_x7_rss_counter_pointer():
    assert key("BUG: Bad rss-counter state mm:(____ptrval____) type:MM_FILEPAGES val:-3") == \
        "BUG:Bad_rss-counter_state_mm:#type:MM_FILEPAGES_val"


def test_x8_bad_pagetable_without_trailing_space():
    assert key("Bad pagetable: 0009 [#2]") == "Bad_pagetable:#[##]"


def test_x9_slab_ptrval():
    assert key("INFO: Slab 0x(____ptrval____) objects=10 used=3 fp=0x(____ptrval____) flags=0x2ff") == \
        "INFO:Slab0x(____ptrval____)objects=#used=#fp=0x(#)flags="


def test_x10_end_marker_removes_the_last_bracket():
    assert key("end Kernel panic - not syncing: Attempted to kill the idle task! ]---") == \
        "end_Kernel_panic-not_syncing:Attempted_to_kill_the_idle_task"


def test_x11_segfault_is_a_constant():
    assert analyze("prog[9]: segfault at 10 ip 0000 sp 0000 error 6 in x.so")[0] == "segfault_at_ip_sp_error"


# --- §6.3 bisect ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "want"), [
    ("", ""),
    ("oneword123", "oneword123"),  # a single word is kept whole
    ("x86/mm: 0x1 0x2", ""),  # only varying words: empty
    ("CPU0: 12", ""),
    ("foo: 12 34", "foo:"),
    ("a b.isra.3+0x1 c", "a b"),  # stop at a suffixed function
    ("a fn+0x1/0x2 c", "a fn+0x"),
    ("a key=7 c", "a key="),
    ("at lib/x.c:12 y", "at lib/x.c:.* y"),
    ("w 1 2 v", "w .* v"),  # `.*` not twice in a row
    ("[1] a b [2]", "a b"),
])
def test_bisect_of(text, want):
    assert bisect_of(text) == want


# --- §6.4 normalisation ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "want"), [
    ("panic here ]", "panic_here"),  # N1
    ("at /c/kernel-tests/src/tree/fs/inode.c", "at_fs/inode.c"),  # N2
    ("at /c/wfg/linux/mm/slub.c", "at_mm/slub.c"),  # N3
    ("at /lkp/user/linux2/mm/slub.c", "at_mm/slub.c"),  # N4
    ("at /kernel-tests/linux3/mm/slub.c", "at_mm/slub.c"),  # N5
    ("in f.constprop.7 now", "in_f_now"),  # N6
    ("dev zram3 mmc0 sda1", "dev_zram#mmc#sda1"),  # N7 block devices; sda1 untouched
    ("link usb2 wlan0", "link_usb#wlan"),  # N8 device names
    ("ptr deadbeef ok", "ptr#ok"),  # N9
    ("ptr ffff888812345678 ok", "ptr#ok"),  # N10
    ("mode=abc flags", "mode=#flags"),  # N11
    ("fn+0x1f/0x30 x", "fn_x"),  # N12
    ("swapper/0/1 ran", "swapper_ran"),  # N13
    ("drivers/dec/x.c", "drivers/x.c"),  # N13 eats hex path words
    ("BUG k (Tainted: G W ) (more): x", "BUG_k:x"),  # N14 greedy
    ("on 5.15.0-rc3-next host", "on#host"),  # C2
    ("built 13-Mar-2020 ok", "built#ok"),  # C3
    ("at 0x1f ok", "at#ok"),  # C4
    ("id 0123456789abcdef0123456789abcdef01234567 ok", "id#ok"),  # C5 (after N9/N10 could not match)
    ("x86 i915 e1000e 42 1.2.3. end", "x86_i915_e1000e##end"),  # C6
    ("gfp_mask=0x", "gfp_mask=0x"),  # C7 restores a bare 0x
    ('a "b" $c \\d', "a~b~~c~d"),  # C8
    ("a\tb", "a_b"),  # C9
    ("a    b", "a_b"),  # C10
    ("a: b, c] d", "a:b,c]d"),  # C11
    ("a (b #c -d _e [f", "a(b#c-d_e[f"),  # C12
    ("x: done!!", "x:done"),  # C16
    ("x (y)", "x(y)"),  # C16 keeps `)`
    ("RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] fn+0x1/0x2", "RIP:fn"),  # P2 + P3
    ("mod [i915] x", "mod#x"),  # P4
    ("[kworker/u8:2:5]", "[kworker##:#]"),  # P5 after N13
])
def test_normalisation_steps(text, want):
    assert normalise(text) == want


def test_no_case_folding_and_no_length_cut():
    long = "Alpha " + "b" * 300
    assert normalise(long) == "Alpha_" + "b" * 300
