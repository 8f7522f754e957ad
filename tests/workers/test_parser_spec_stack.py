"""syzkaller's reporter, spec §6 (frame extraction), §7 (skip list, syscall prefixes) and §8 (stall and
hung-task extractors), pinned with synthetic lines written from
../shared/reference/syzkaller-report-rules.md."""

import pytest

from workers.parser.catalogue import CTR, SOR, WSR, Stack
from workers.parser.demangle import demangle
from workers.parser.stack import canonical, extract, frame_names, hung_pick, skipped, stall_pick

# --- §6.2 frame shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("line, names", [
    (" foo+0x12/0x34", ["foo"]),
    (" foo+0x12/0x34 [mod]", ["foo"]),
    (" [<ffffffff81234567>] foo+0x12/0x34", ["foo"]),
    ("[c000000001234560] [c000000000123450] foo+0x12/0x34", ["foo"]),
    (" foo.isra.0+0x1/0x2", ["foo"]),
    ("syz.0.12/345 is trying to acquire lock:", ["syz"]),  # no offset is required
    (" foo mm/x.c:12 [inline]", []),  # symbolised inline frames never match
    (" ? foo+0x1/0x2", []),
    (" .foo+0x1/0x2", []),  # a dot cannot start {FUNC} (powerpc ELFv1 names)
    ("[<c0123456>] (foo.part.0) from [<c0234567>] (bar+0x10/0x20)", ["foo.part.0", "bar"]),
])
def test_frame_shapes(line, names):
    assert frame_names(line) == names


# --- §6.5 steps -------------------------------------------------------------------------------------------

def test_standard_oops_rule_takes_the_rip_function_then_call_trace_frames():
    lines = ["BUG: x", "RIP: 0010:memset+0x1/0x2", "Call Trace:", " guilty+0x1/0x2", " caller+0x1/0x2"]
    out = extract(SOR, None, lines)
    assert (out.frames, out.failed) == (["guilty"], False)


def test_standard_oops_rule_without_a_rip_line_fails():
    out = extract(SOR, None, ["BUG: x", "Call Trace:", " guilty+0x1/0x2"])
    assert (out.frames, out.failed) == (["corrupted"], True)


def test_user_mode_rip_captures_nothing_but_is_consumed():
    lines = ["x", "RIP: 0033:0x7f0000001234", "Call Trace:", " guilty+0x1/0x2"]
    assert extract(SOR, None, lines).frames == ["guilty"]


def test_warning_rule_uses_the_rip_function_and_falls_back_to_the_call_trace():
    # Pitfall 7: the RIP function first; if it is skipped, the first surviving Call Trace frame.
    lines = ["WARNING: x", "RIP: 0010:kfree+0x1/0x2", "Call Trace:", " __warn+0x1/0x2", " guilty+0x1/0x2"]
    assert extract(WSR, None, lines).frames == ["guilty"]
    lines[1] = "RIP: 0010:own_fn+0x1/0x2"
    assert extract(WSR, None, lines).frames == ["own_fn"]


def test_powerpc_interrupt_line_names_the_warning_frame():
    lines = ["WARNING: x", "--- interrupt: 700 at ppc_fn+0x1/0x2", "Call Trace:", " other+0x1/0x2"]
    assert extract(WSR, None, lines).frames == ["ppc_fn"]


def test_collect_stops_at_the_next_stack_start():
    lines = ["x", "Call Trace:", " kfree+0x1/0x2", "Allocated by task 5:", " guilty+0x1/0x2"]
    assert extract(CTR, None, lines).frames == ["corrupted"]


def test_kmemleak_backtrace_marker_needs_a_character_before_it():
    # §6.3: lockdep's "stack backtrace:" is no marker, so collection goes on past it.
    lines = ["x", "Call Trace:", " kmalloc+0x1/0x2", "stack backtrace:", " guilty+0x1/0x2"]
    assert extract(CTR, None, lines).frames == ["guilty"]
    lines[3] = "  backtrace (crc 1a2b):"
    assert extract(CTR, None, lines).frames == ["corrupted"]


def test_a_fault_injection_line_fails_the_extraction_but_keeps_the_frame():
    lines = ["x", "Call Trace:", " guilty+0x1/0x2", " should_fail.constprop.0+0x1/0x2", " y+0x1/0x2"]
    out = extract(CTR, None, lines)
    assert (out.frames, out.failed) == (["guilty"], True)
    lines[3] = " should_fail_ex+0x1/0x2"  # not the fault-injection shape
    assert extract(CTR, None, lines).failed is False


def test_two_collect_steps_give_two_frames():
    # The KMSAN rule: the access stack, then the origin stack after "Uninit was created at:".
    from workers.parser.catalogue import KMSAN_STACK
    lines = ["BUG: KMSAN: uninit-value in a+0x1/0x2", " a+0x1/0x2", " b+0x1/0x2",
             "Uninit was created at:", " kmem_cache_alloc+0x1/0x2", " origin_fn+0x1/0x2"]
    assert extract(KMSAN_STACK, None, lines).frames == ["a", "origin_fn"]
    assert extract(KMSAN_STACK, None, lines[:3]).frames == ["a", "corrupted"]


def test_format_skips_apply_on_top_of_the_generic_list():
    import re
    lines = ["x", "Call Trace:", " spin_bug+0x1/0x2", " guilty+0x1/0x2"]
    assert extract(CTR, re.compile("spin_"), lines).frames == ["guilty"]
    assert extract(CTR, None, lines).frames == ["spin_bug"]


# --- §6.6 demangling ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mangled, name", [
    ("plain_c_name", "plain_c_name"),
    ("_ZN6kernel4sync7CondVar4wait17h0123456789abcdefE", "kernel::sync::CondVar::wait"),
    ("_ZN3foo3barEv", "foo::bar"),
    ("_RNvNtCs1234_6kernel4sync4wait", "kernel::sync::wait"),
    ("_RNvMNtCs1234_6kernel4syncNtB2_7CondVar4wait", "<kernel::sync::CondVar>::wait"),
    ("_Rgarbage", "_Rgarbage"),
])
def test_demangle(mangled, name):
    assert demangle(mangled) == name


# --- §7.1 generic skips (pitfall 6) ----------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "rcu_read_lock", "fdput", "nla_put_string", "skb_panic", "vprintk", "kvzalloc_node", "hlist_add_head",
    "__list_del_entry_valid", "device_add_disk", "queue_work_on", "_raw_spin_lock_irqsave",
    "core::panicking::panic_fmt", "mutex_lock_nested", "__x86_indirect_thunk_rax", "refcount_warn_saturate",
    "down", "iowrite32_writel", "crc32_le", "do_trap", "handle_trap", "kfree",
])
def test_generic_frames_are_skipped(name):
    assert skipped(name, None)


@pytest.mark.parametrize("name", ["guilty_fn", "kfree_rcu_work", "downgrade_fn", "copy_process", "x_mutex_lock_y"])
def test_ordinary_frames_are_kept(name):
    assert not skipped(name, None)


# --- §7.2 syscall prefixes (pitfall 10) ------------------------------------------------------------------

@pytest.mark.parametrize("name, stripped", [
    ("__do_sys_foo", "foo"), ("__se_sys_foo", "foo"), ("__x64_sys_foo", "sys_foo"),
    ("__ia32_compat_sys_foo", "compat_sys_foo"), ("ksys_write", "write"), ("__sys_sendmsg", "sendmsg"),
    ("____sys_sendmsg", "sendmsg"), ("SyS_foo", "foo"), ("plain", "plain"),
])
def test_canonical_strips_one_prefix_choosing_the_shortest(name, stripped):
    assert canonical(name) == stripped


# --- §8 extractors ------------------------------------------------------------------------------------------

def test_stall_extractor_names_the_frame_above_the_first_anchor():
    assert stall_pick(["busy_loop", "worker_fn", "process_one_work", "kthread"]) == (1, "worker_fn")
    assert stall_pick(["process_one_work"]) == (0, "process_one_work")  # the anchor itself when first
    assert stall_pick(["a", "b"]) is None  # no anchor: nothing (corrupted)
    assert stall_pick(["a", "smp_call_function_many", "b"]) == (1, "smp_call_function")  # a literal
    assert stall_pick(["loop_fn", "sys_ioctl"]) == (0, "loop_fn")  # stripped names: __x64_sys_ioctl


def test_a_literal_frame_keeps_its_candidate_for_the_alternative_titles():
    # §6.5/§9: the raw (unstripped) chosen candidate feeds the alternatives, not the literal.
    log = ("[ 1.0] BUG: soft lockup - CPU#0 stuck for 22s! [a:1]\n[ 1.0] RIP: 0010:csd_lock_wait+0x1/0x2\n"
           "[ 1.0] Call Trace:\n[ 1.0]  smp_call_function_single+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    from workers.parser import parse_log
    report = parse_log(log).reports[0]
    assert report.title == "BUG: soft lockup in smp_call_function"
    assert report.alt_titles == ["stall in smp_call_function", "BUG: soft lockup in smp_call_function_single",
                                 "stall in smp_call_function_single"]


def test_stall_rule_reports_no_frames_without_an_anchor():
    rule = Stack(CTR.steps, extractor="stall")
    assert extract(rule, None, ["x", "Call Trace:", " a+0x1/0x2", " b+0x1/0x2"]).frames == ["corrupted"]


def test_hung_task_extractor():
    assert hung_pick(["__schedule", "rtnl_lock_killable", "x"]) == (1, "rtnl_lock_killable")
    assert hung_pick(["__schedule", "synchronize_srcu", "x"]) == (1, "synchronize_rcu")
    assert hung_pick(["__schedule", "schedule", "io_wait_fn", "guilty", "sys_ioctl"]) == (3, "guilty")
    assert hung_pick(["schedule", "wait_for_x"]) is None
