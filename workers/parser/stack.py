"""Stack-frame extraction (spec §6), the generic frame-skip list and syscall prefixes (§7), and the
stall and hung-task extractors (§8).

`extract(stack, lines)` runs a format's stack rule (`catalogue.Stack`) over the lines of the title
window from the title match on, and returns the frames it names (canonical and raw) and whether it
failed. Spec: ../shared/reference/syzkaller-report-rules.md.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

import ahocorasick_rs

from workers.parser.catalogue import PC, Stack
from workers.parser.demangle import demangle

# §6.2 frame line shapes, matched at the start of the line. A: x86-64, i386, arm64, riscv, powerpc,
# s390 and symbolised text; B: 32-bit ARM `[<pc>] (callee) from [<pc>] (caller+...`.
SHAPE_A = re.compile(rf" *(?:{PC} ){{0,2}}([a-zA-Z0-9_]+)(?:\.|\+)", re.A)
SHAPE_B = re.compile(rf" *{PC} \(([a-zA-Z0-9_.]+)\) from {PC} \(([a-zA-Z0-9_]+)(?:\.|\+)", re.A)

# §6.3 stack-start markers (searched in one line; `[^k] backtrace` needs a character before it).
_MARKERS = (r"Call Trace", r"Call trace", r"Allocated:", r"Allocated by task \d+:", r"Freed:", r"Freed by task \d+:",
            r"[^k] backtrace(?: \(crc [0-9a-f]*\))?:", r"Backtrace:", r"Uninit was stored to memory at",
            r"status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}")
STACK_START = re.compile("|".join(_MARKERS), re.A)
# The same markers one by one, for the §10.2 checks (in this order); the last is RISC-V's.
MARKERS = tuple(re.compile(m, re.A) for m in _MARKERS)
RISCV_MARKER = MARKERS[-1]

# §6.4 fault-injection lines: a stack cut by should_fail() output.
FAULT_INJECTION = re.compile(rf"(?: {PC})? should_fail(?:slab)?(?:\.[a-z0-9.]+)?\+0x", re.A)
_FAULT_INJECTION_LINE = re.compile(rf"^(?: {PC})? should_fail(?:slab)?(?:\.[a-z0-9.]+)?\+0x", re.A | re.M)

# §7.1 the generic skip list, searched in the demangled name (grouped as in the spec).
GENERIC_SKIP = [
    # sanitizers / checkers
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint", "check_memory_region",
    "check_heap_object", "check_object", "read_word_at_a_time", "(?:read|write)_once_.*nocheck",
    "print_address_description",
    # panic / report / trap plumbing
    "panic", "invalid_op", "report_bug", "fixup_bug", "print_report", "print_usage_bug", "do_error", "_trap$",
    "do_trap", "show_stack", "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath", "warn_alloc",
    "warn_bogus", "__warn",
    # allocation
    "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab", "__alloc_frozen_pages_noprof",
    "folio_alloc", "folio_unlock", "filemap_alloc_folio", "__filemap_get_folio", "find_or_create_page",
    "do_read_cache_folio", "read_cache_page", "pagecache_get_page", "grab_cache_page_write_begin", "slab_",
    # debug objects / faults
    "debug_object", "timer_is_static_object", "work_is_static_object", "__might_fault",
    # locking
    "print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace", "lock_acquire",
    "lock_release", "lock_class", "mark_lock", "(?:reacquire|mark)_held_locks", "raw_spin_rq", "spin_lock",
    "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock", "write_trylock", "read_unlock",
    "write_unlock", "^down$", "down_read", "down_write", "down_read_trylock", "down_write_trylock", "down_trylock",
    "up_read", "up_write", "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
    # atomics / bitops / refcounts
    "atomic(?:64)?_(?:dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)", "set_bit", "clear_bit",
    "change_bit", "test_bit", "__wake_up", "^refcount_", "^kref_", "ref_tracker", "seqprop_assert",
    # memory / string helpers
    "memcpy", "memcmp", "memset", "memchr", "memmove", "memdup", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy",
    "strscpy", "strlen", "strstr", "strnstr", "strnlen", "strchr", "strdup", "strndup",
    # user copy
    "copy_to_user", "copy_from_user", "copy_to_iter", "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter",
    "copy_folio_to_iter", "^copyin$", "^copyout$", "put_user", "get_user", "might_fault", "might_sleep",
    # lists / trees / retpolines
    "list_add", "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_", "_indirect_thunk_",
    # printing
    "string", "pointer", "snprintf", "scnprintf", "kasprintf", "kvasprintf", "printk", "va_format", "dev_info",
    "dev_notice", "dev_warn", "dev_err", "dev_alert", "dev_crit", "dev_emerg",
    # powerpc
    "program_check_exception", "program_check_common",
    # timers / workqueues / waiting
    "del_timer", "flush_work", "__cancel_work_timer", "cancel_work_sync", "try_to_grab_pending", "flush_workqueue",
    "drain_workqueue", "destroy_workqueue", "queue_work", "finish_wait", "kthread_stop",
    # device model / teardown
    "kobject_", "add_uevent_var", "get_device_parent", "device_add", "device_del", "device_unregister",
    "device_destroy", "device_release", "devres_release_all", "hwrng_unregister", "i2c_del_adapter",
    "__unregister_client", "device_for_each_child", "rollback_registered", "unregister_netdev", "sysfs_remove",
    "device_remove_file", "tty_unregister_device",
    # USB
    "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg", "usb_hcd_submit_urb",
    "usb_submit_urb",
    # completion / freeing
    "^complete$", "wait_for_completion", "^kfree$", "^kvfree$", "kfree_skb",
    # MMIO
    "(?:readb|readw|readl|readq|writeb|writew|writel|writeq)$", "logic_in", "logic_out",
    # CRC
    "^crc[0-9]", "crc_itu_t",
    # misc
    "__might_resched", "assertfail", "^iput$", "^iput_final$", "^ihold$", "hex_dump_to_buffer", "print_hex_dump",
    "^klist_", "trace_hardirq", "trace_softirq", "lockdep_hardirq", "lockdep_softirq", "^lock_page", "^unlock_page",
    "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save", "insert_work", "__queue_delayed_work",
    "queue_delayed_work_on", "ida_free",
    # arm64 fault path
    "do_kernel_fault", "do_translation_fault", "do_mem_abort", "el1_abort", "el1h_64_sync", "print_tainted",
    # page cache / xarray
    "xas_start", "xas_load", "xas_find", "find_lock_entries", "truncate_inode_pages_range",
    # misc 2
    "__phys_addr", "__fortify_report", "cleanup_srcu_struct", "rhashtable_lookup", "extract_user_to_sg",
    "extract_iter_to_sg", "drop_nlink", "^get_taint$", "^put_device$", "lock_timer_base", "__timer_delete_sync",
    "sk_stop_timer_sync", "__mod_timer", "fast_dput", "dput", "mark_buffer_dirty",
]
_PLAIN = [p for p in GENERIC_SKIP if re.escape(p) == p.replace("_", "\\_") or re.fullmatch(r"\w+", p)]
GENERIC_SKIP_RE = re.compile("|".join(f"(?:{p})" for p in GENERIC_SKIP if p not in _PLAIN), re.A)
# The plain substrings (most of the list) are found by one Aho-Corasick pass over the name.
_GENERIC_WORDS = ahocorasick_rs.AhoCorasick(_PLAIN)

# §7.2 syscall prefixes, in order; each is removed once from the original name, the shortest wins.
SYSCALL_PREFIXES = ("SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_",
                    "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_")


@functools.lru_cache(maxsize=65536)
def canonical(name: str) -> str:
    """§7.2: the name with one syscall prefix removed, the shortest of all single removals."""
    best = name
    for prefix in SYSCALL_PREFIXES:
        if name.startswith(prefix) and len(name) - len(prefix) < len(best):
            best = name[len(prefix):]
    return best


@functools.lru_cache(maxsize=65536)
def _generic(name: str) -> bool:
    try:
        if _GENERIC_WORDS.find_matches_as_indexes(name):
            return True
    except UnicodeEncodeError:  # lone surrogates
        if any(p in name for p in _PLAIN):
            return True
    return GENERIC_SKIP_RE.search(name) is not None


def skipped(name: str, extra: re.Pattern[str] | None) -> bool:
    """§6.6: is this (demangled) candidate dropped by the generic or the format's skip list?"""
    return _generic(name) or (extra is not None and extra.search(name) is not None)


def maybe_stack_start(line: str) -> bool:
    """A cheap necessary condition for STACK_START (substrings every marker contains)."""
    return ("race" in line or "lloc" in line or "reed" in line or "acktrace" in line or "Uninit" in line
            or "status: " in line)


def frame_names(line: str) -> list[str]:
    """§6.2: the frame(s) a frame-shaped line yields ([] when it is not frame-shaped)."""
    m = SHAPE_A.match(line)
    if m:
        return [m.group(1)]
    m = SHAPE_B.match(line)
    if m:
        return [m.group(1), m.group(2)]
    return []


def is_frame_line(line: str) -> bool:
    return SHAPE_A.match(line) is not None or SHAPE_B.match(line) is not None


# §8.1 stall extractor anchors: (pattern, how) searched in the stripped name.
_STALL_ANCHORS = re.compile("|".join(f"(?:{p})" for p in [
    # dispatch / entry
    "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch", "tracesys_phase2",
    "el0_svc_handler", "invoke_syscall", "ret_fast_syscall", "netif_receive_skb", "do_softirq", "call_timer_fn",
    "_run_timers", "run_timer_softirq", "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn", "^kthread$",
    "start_secondary", "cpu_startup_entry", "ret_from_fork",
    # file operations
    "vfs_write", "vfs_read", "vfs_iter_read", "vfs_iter_write", "do_iter_read", "do_iter_write", "call_read_iter",
    "call_write_iter", "new_sync_read", "new_sync_write", "vfs_ioctl", "ksys_ioctl", "compat_ioctl",
    "compat_sys_ioctl", "blkdev_driver_ioctl", "blkdev_ioctl", "^call_read_iter", "^call_write_iter",
    "do_iter_readv_writev", "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open",
    # sockets
    "^sock_sendmsg", "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$", "kernel_setsockopt",
    "sock_common_setsockopt", "^listen$", "kernel_listen", "sk_common_release", "^sock_mmap", "^accept$",
    "kernel_accept", "^sock_do_ioctl", "^sock_ioctl", "^compat_sock_ioctl", "^nfnetlink_rcv_msg",
    "^rtnetlink_rcv_msg", "^netlink_dump", "^(?:sys_)?(?:socketpair|connect|ioctl)",
    # page faults
    "__do_fault", "do_page_fault", "^page_fault$",
    # return-to-user work
    "__fput", "task_work_run", "exit_to_usermode", "smp_call_function", "tasklet_action", "tasklet_hi_action",
]), re.A)


@functools.lru_cache(maxsize=16384)
def _stall_anchor(name: str) -> bool:
    return _STALL_ANCHORS.search(name) is not None


def stall_pick(names: list[str]) -> tuple[int, str] | None:
    """§8.1: (index, name) of the candidate a stall title names (the one above the first anchor; an
    anchor holding smp_call_function is named `smp_call_function`), or None."""
    if not names:
        return None
    prev = 0
    for i, name in enumerate(names):
        if _stall_anchor(name):
            if "smp_call_function" in name:
                return i, "smp_call_function"
            return prev, names[prev]
        prev = i
    return None


_HUNG_SKIP = ("sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait", "synchronize",
              "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier")
_SYNCHRONIZE = ("synchronize_rcu", "synchronize_srcu", "synchronize_net", "synchronize_sched")


def hung_pick(names: list[str]) -> tuple[int, str] | None:
    """§8.2: (index, name) of the candidate a hung-task title names, or None."""
    for i, name in enumerate(names):
        if "rtnl_lock" in name:
            return i, name
        if any(s in name for s in _SYNCHRONIZE):
            return i, "synchronize_rcu"
    for i, name in enumerate(names):
        if not any(s in name for s in _HUNG_SKIP):
            return i, name
    return None


@dataclass
class Extraction:
    """What a stack rule produced: per segment the canonical frame, the raw (demangled) frame and the
    index of the line it came from (None when the frame is a literal such as `smp_call_function`)."""

    frames: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    failed: bool = False


def _run(steps: tuple, stack: Stack, skip: re.Pattern[str] | None, lines: list[str], text: str,
         starts: list[int], first: int) -> Extraction:
    out = Extraction()
    seg: list[tuple[str, int]] = []  # (demangled raw name, line index)
    i, n = first, len(lines)
    collects = 0

    def add(names: list[str], at: int) -> None:
        for name in names:
            name = demangle(name)
            if not skipped(name, skip):
                seg.append((name, at))

    def close() -> None:
        nonlocal seg
        # The chosen candidate (its unstripped name is kept for alternative titles) and the name the
        # title uses: the candidate stripped of its syscall prefix, or an extractor's literal.
        names = [canonical(name) for name, _ in seg]
        found: tuple[int, str] | None = (0, names[0]) if seg else None
        if seg and stack.extractor == "stall":
            found = stall_pick(names)
        elif seg and stack.extractor == "hung":
            found = hung_pick(names)
        if found is None:
            out.frames.append("corrupted")
            out.raw.append("corrupted")
            out.lines.append(None)
            out.failed = True
        else:
            out.frames.append(found[1])
            out.raw.append(seg[found[0]][0])
            out.lines.append(seg[found[0]][1])
        seg = []

    k = 0
    while k < len(steps):
        step = steps[k]
        if step is None:  # COLLECT
            if collects:
                close()
            collects += 1
            nxt = steps[k + 1] if k + 1 < len(steps) else None
            while i < n:
                line = lines[i]
                i += 1
                if "should_fail" in line and FAULT_INJECTION.match(line):
                    out.failed = True
                    break
                if maybe_stack_start(line) and STACK_START.search(line):
                    break
                if nxt is not None:
                    m = nxt.search(line)
                    if m:
                        add([g for g in m.groups() if g is not None], i - 1)
                        k += 1  # the FIND is done
                        break
                if seg and stack.extractor is None:
                    # The segment's frame is its first candidate: later ones change nothing. In the
                    # last step only a fault-injection line further down still matters.
                    if nxt is None and text.find("should_fail", starts[i]) < 0:
                        i = n
                        break
                    continue
                names = frame_names(line)
                if names:
                    add(names, i - 1)
        elif i < n:  # FIND: no step pattern crosses a line end, so the text is searched at once
            m = step.search_text(text, starts[i], len(text))
            j = bisect.bisect_right(starts, m.start()) - 1 if m else n
            end = starts[j + 1] if m else len(text)
            fault = text.find("should_fail", starts[i], end)
            fault = _FAULT_INJECTION_LINE.search(text, text.rfind("\n", 0, fault) + 1, end) if fault >= 0 else None
            if fault is not None:
                out.failed = True
                i = bisect.bisect_right(starts, fault.start())
            elif m is not None:
                add([g for g in m.groups() if g is not None], j)
                i = j + 1
            else:
                i = n
        k += 1
    close()
    return out


def extract(stack: Stack, skip: re.Pattern[str] | None, lines: list[str], text: str | None = None,
            starts: list[int] | None = None, first: int = 0, col: int = 0) -> Extraction:
    """§6.5: run a stack rule over `lines[first:]` (the title window from the match on), with its
    fallback. `text`: the lines joined, each ended by "\n"; `starts`: the offset of each line in it
    and of its end. `col`: where the match starts in `lines[first]` (the text before it on that line
    is not the rule's). Line numbers in the result count from `first`."""
    if text is None or starts is None:
        text = "".join(line + "\n" for line in lines)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
    if col:
        lines, starts = lines.copy(), starts.copy()
        lines[first] = lines[first][col:]
        starts[first] += col
    out = _run(stack.steps, stack, skip, lines, text, starts, first)
    if out.failed and stack.fallback is not None:
        out = _run(stack.fallback, stack, skip, lines, text, starts, first)
    out.lines = [None if k is None else k - first for k in out.lines]
    return out
