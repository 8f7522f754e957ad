"""Which frame of a stack is to blame: skip the generic frames, as syzkaller's Linux rules do.

A stack starts with the machinery that printed it (dump_stack, __warn, kasan_report, panic, ...) and
the helpers the buggy code called (memcpy, kmalloc, mutex_lock, list_del, ...). Titles name the first
frame that is neither, so that the same bug reached through different helpers gets the same title.
Stalls and hangs need another rule (see `stall_frame`, `hang_frame`): the stack is a random point in a
loop, so the title names the function that dispatched the work (the syscall, the work item).
"""

from __future__ import annotations

import functools
import re

# Generic frames, matched anywhere in the function name unless anchored (syzkaller's linuxStackParams).
SKIP_PATTERNS = [
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
    "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
    "(?:read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op", "report_bug",
    "fixup_bug", "fixup_exception", "do_error", "do_invalid_op", "do_trap", "do_kern_addr_fault",
    "exc_page_fault", "__do_page_fault", "do_page_fault", "trace_page_fault", "page_fault",
    "do_user_addr_fault", "handle_page_fault", "do_mem_abort", "do_translation_fault",
    "el1_abort", "el1h_64_sync", "el1_sync", "el1_da", "el1_dbg", "do_debug_exception", "die",
    "debug_object", "timer_is_static_object", "work_is_static_object", "__might_fault",
    "print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace",
    "lock_acquire", "lock_release", "lock_class", "mark_lock", "(?:reacquire|mark)_held_locks",
    "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock", "raw_read_lock", "raw_read_trylock",
    "raw_write_lock", "raw_write_trylock", "raw_read_unlock", "raw_write_unlock", "down_write",
    "down_read", "up_write", "up_read", "^do_raw_", "mutex_lock", "mutex_trylock", "mutex_unlock",
    "^__mutex_", "rt_mutex", "^rcu_lock_acquire", "^rcu_lock_release", "^__rcu_read_", "^rcu_read_",
    "^local_bh_", "preempt_count", "preempt_schedule", "trace_hardirqs", "check_preemption_disabled",
    "debug_smp_processor_id", "^pvclock", "queued_spin", "__raw_spin", "_raw_spin",
    "vprintk", "printk", "__warn", "warn_slowpath", "warn_alloc", "warn_bogus", "__fortify",
    "fortify_panic", "__ubsan", "ubsan_", "^dump_stack", "show_stack", "dump_backtrace",
    "show_trace", "show_regs", "^__bug$", "^bug$", "^BUG$", "^ref(?:count)?_", "^kref_",
    "^__refcount", "^refcount", "memcpy", "memcmp", "memset", "memchr", "memmove", "memscan",
    "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strnstr", "strnlen",
    "strchr", "strrchr", "strstr", "strcat", "strncat", "strlcat", "^copy_from_user", "^copy_to_user",
    "^_copy_from_user", "^_copy_to_user", "^copy_user_", "_copy_from_iter", "_copy_to_iter",
    "copyin", "copyout", "^__copy_", "^raw_copy_", "^strncpy_from_user", "^__strncpy_from_user",
    "^__get_user", "^__put_user", "^get_user", "^put_user", "should_fail", "^fail_dump",
    "^kfree$", "^kvfree", "^kzfree", "^kfree_sensitive", "^kmem_cache_free", "^__kmem_cache_free",
    "^slab_free", "^__slab_free", "^do_slab_free", "^___cache_free", "^__cache_free", "^kfree_skb",
    "^consume_skb", "^__kfree_skb", "^sk_free$",
    "^kmalloc", "^__kmalloc", "^kzalloc", "^kcalloc", "^kmalloc_array", "^kvmalloc", "^kvzalloc",
    "^__kvmalloc", "^kmem_cache_alloc", "^kmem_cache_zalloc", "^slab_alloc", "^__slab_alloc",
    "^___slab_alloc", "^krealloc", "^__krealloc", "^kmemdup", "^kstrdup", "^kstrndup", "^memdup",
    "^vmalloc", "^__vmalloc", "^vzalloc", "^alloc_pages", "^__alloc_pages", "^folio_alloc",
    "^alloc_page", "^__get_free_pages", "^get_zeroed_page", "^allocate_slab", "^new_slab",
    "^setup_object", "^init_object", "^alloc_debug_processing", "^free_debug_processing",
    "^on_freelist", "^object_err", "^slab_err", "^__slab_err", "^free_to_partial_list", "^slab_bug",
    "^slab_fix", "^print_trailer", "^check_bytes_and_report",
    "^kmemleak", "^trace_kmalloc", "^trace_kfree",
    "^list_add", "^__list_add", "^list_del", "^__list_del", "^list_replace", "^list_move",
    "^list_splice", "^hlist_", "^__hlist_",
    "^sysvec_apic_timer_interrupt", "^asm_sysvec_", "^asm_exc_", "^exc_", "^handle_bug", "^do_int3",
    "^do_error_trap", "^__die", "^die$", "^oops_", "^__report_bug", "^usercopy_abort",
    "^__check_object_size", "^check_object_size", "^__check_heap_object", "^check_stack_object",
    "^nmi_cpu_backtrace", "^nmi_trigger_cpumask_backtrace", "^arch_trigger_cpumask_backtrace",
    "^unwind_", "^__unwind_start$", "^arch_stack_walk", "^stack_trace_save", "^kernel_text_address",
    "^__kernel_text_address", "^stack_depot", "^__stack_depot", "^save_stack", "^__save_stack",
    "^set_track", "^print_track", "^print_report", "^describe_object", "^report_",
    "^__x86_indirect_thunk", "^__x86_return_thunk", "^__pfx_", "^srso_",
    # Library and driver-core helpers: the bug is in their caller.
    "^sysfs_", "^kernfs_", "^kobject_", "^kobj_", "^device_(?:add|del|release|unregister|register)$",
    "^get_device_parent", "^put_device", "^devres_", "^devm_", "^rb_", "^__rb_", "^crc\\d+",
    "^atomic_", "^arch_atomic", "^raw_atomic", "^__atomic", "^_atomic_dec_and_lock",
    "^unlock_page", "^folio_unlock", "^lock_page", "^folio_lock", "^__folio_lock", "^dput$",
    "^fast_dput", "^ida_", "^idr_", "^del_timer", "^timer_delete", "^try_to_del_timer",
    "^timer_shutdown", "^complete$", "^complete_all", "^wait_for_completion", "^__wait_for_common",
    "^wait_for_common", "^__flush_work", "^flush_work$", "^kthread_stop", "^usb_kill_", "^usb_poison",
    "^unregister_netdev", "^rollback_registered", "^free_large_kmalloc", "^__might_sleep",
    "^__might_resched", "^might_sleep", "^__call_rcu", "^call_rcu", "^__vunmap", "^vunmap", "^vfree",
    "^kvfree", "^free_pages", "^__free_pages", "^free_unref_page", "^__put_page", "^put_page",
    "^print_usage_bug", "^valid_state", "^mark_usage", "^mark_irqflags", "^print_irq_inversion_bug",
    "^check_usage", "^down_trylock$", "^down$", "^up$", "^down_interruptible", "^down_killable",
    "^down_timeout", "^osq_lock", "^osq_unlock", "^__do_kernel_fault", "^do_kernel_fault", "^do_bad_area",
    "^do_tag_check_fault", "^device_", "^dpm_sysfs_", "^bad_page", "^post_alloc_hook", "^prep_new_page", "^get_page_from_freelist", "^dump_page",
]

SKIP_RE = re.compile("|".join(f"(?:{p})" for p in SKIP_PATTERNS))

# Prefixes of syscall entry points that syzbot titles drop, applied once each in this order.
STRIP_PREFIXES = [
    "SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "__riscv_", "__s390x_", "__s390_",
    "____sys_", "___sys_", "__sys_", "__se_sys_", "__do_sys_", "__se_", "compat_SYSC_",
    "compat_SyS_", "ksys_",
]


def strip_syscall_prefix(name: str) -> str:
    for prefix in STRIP_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
    return name


@functools.lru_cache(maxsize=65536)
def _generic(name: str) -> bool:
    return SKIP_RE.search(name) is not None


def is_generic(name: str, extra: re.Pattern[str] | None = None) -> bool:
    return _generic(name) or bool(extra and extra.search(name))


def first_frame(frames: list[tuple[str, int]]) -> tuple[str, int] | None:
    return frames[0] if frames else None


# Functions that dispatch work: a stall/lockup title names the frame just above the first of them.
_STALL_ANCHORS = re.compile(
    "|".join(
        f"(?:{p})"
        for p in [
            "^__do_softirq", "^handle_softirqs", "^run_ksoftirqd", "^call_timer_fn", "^expire_timers",
            "^__run_timers", "^run_timer_softirq", "^run_timer_base", "^tasklet_action", "^tasklet_hi_action",
            "^process_one_work", "^process_scheduled_works", "^worker_thread", "^kthread$", "^ret_from_fork",
            "^smpboot_thread_fn", "^task_work_run", "^exit_to_user", "^syscall_exit_to_user",
            "^do_syscall_", "^do_fast_syscall", "^do_int80_syscall", "^entry_SYS", "^ret_fast_syscall",
            "^el0_svc", "^invoke_syscall", "^__invoke_syscall", "^x64_sys_call", "^ia32_sys_call",
            "^system_call", "^sysenter_dispatch", "smp_call_function",
            "^(?:__)?vfs_(?:read|write|readv|writev|iter_read|iter_write)$", "^new_sync_(?:read|write)$",
            "^do_iter_(?:read|write)", "^do_vfs_ioctl", "^(?:__)?sock_(?:sendmsg|recvmsg|ioctl|do_ioctl|"
            "write_iter|read_iter)", "^sock_sendmsg_nosec", "^sock_recvmsg_nosec", "^sock_common_",
            "netlink_rcv_msg$", "^netlink_rcv_skb", "^netlink_unicast", "^netlink_sendmsg", "^netlink_dump",
            "^genl_", "^rtnetlink_rcv", "^blkdev_ioctl", "^compat_blkdev_ioctl", "compat_\\w*ioctl$",
            "^vfs_ioctl$", "^(?:sys_)?ioctl$", "^(?:sys_)?(?:set|get)sockopt$", "^do_sock_(?:set|get)sockopt",
            "^net_rx_action", "^__napi_poll", "^napi_poll", "^process_backlog", "^__netif_receive_skb",
            "^rcu_core", "^rcu_do_batch", "^rcu_process_callbacks", "^_rcu_process_callbacks",
        ]
    )
)


def stall_frame(frames: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The frame above the first dispatcher (syscall, softirq, work item) in a stalled stack."""
    if not frames:
        return None
    prev = frames[0]
    for frame in frames:
        name = frame[0]
        if _STALL_ANCHORS.search(name):
            if "smp_call_function" in name:
                return ("smp_call_function", frame[1])
            return prev
        prev = frame
    return None


_HANG_ANCHORS = [
    ("rtnl_lock", ""), ("synchronize_rcu", "synchronize_rcu"), ("synchronize_srcu", "synchronize_rcu"),
    ("synchronize_net", "synchronize_rcu"), ("synchronize_sched", "synchronize_rcu"),
]
_HANG_SKIP = re.compile(
    "sched|_lock|_slowlock|down|rwsem|completion|kthread|wait|synchronize|context_switch|__switch_to"
    "|cancel_delayed_work|__cancel_work|cancel_work_sync|rcu_barrier"
)


def hang_frame(frames: list[tuple[str, int]]) -> tuple[str, int] | None:
    """Hung tasks: waits on RCU or RTNL get one bucket each; else the first frame that is not a wait."""
    for name, line in frames:
        for anchor, bucket in _HANG_ANCHORS:
            if anchor in name:
                return (bucket or name, line)
    for name, line in frames:
        if not _HANG_SKIP.search(name):
            return (name, line)
    return None
