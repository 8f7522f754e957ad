"""Frame signatures: the top non-generic frames of a report's stack, and how alike two of them are.

Frame names are compared across builds and arches: gcc's clone suffixes and powerpc's ELFv1 dots are
dropped, here and in titles.title_key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from workers.report import Frame, Report

SIGNATURE_FRAMES = 8  # satyr-like: the top of the stack says what crashed, the bottom is boilerplate
_STACK_GAP = 3  # lines between two frames of one stack: <IRQ>, </TASK> markers, not a new stack

# gcc clones of one function: foo.isra.0, foo.constprop.3, foo.part.1, foo.cold, foo.llvm.123
_CLONE = re.compile(r"\b([A-Za-z_]\w*)(?:\.(?:isra|constprop|part|cold|llvm|lto_priv)(?:\.\d+)?)+\b")
# powerpc ELFv1 dot-symbols (.vfs_write) name the same function as vfs_write elsewhere
_DOT_SYMBOL = re.compile(r"(?<![\w./])\.(?=[A-Za-z_])")

# Frames that say how a crash was reported or how the task got into the kernel, not where it crashed;
# the same lists syzbot and satyr skip before naming the guilty frame.
_GENERIC = re.compile(
    r"^(?:"
    r"dump_stack\w*|show_stack\w*|show_regs\w*|print_report|print_address_description\w*|"
    r"kasan_\w+|__kasan_\w+|kfence_\w+|__kfence_\w+|check_memory_region\w*|__asan_\w+|__ubsan_\w+|"
    r"ubsan_\w+|__sanitizer_\w+|__warn|warn_slowpath\w*|__warn_printk|report_bug|handle_bug|"
    r"do_error_trap|do_trap\w*|do_int3\w*|exc_\w+|asm_exc_\w+|asm_sysvec_\w+|sysvec_\w+|"
    r"program_check_exception|program_check_common\w*|interrupt_return\w*|"
    r"__die\w*|die|oops_\w+|bad_page_fault|__bad_area\w*|bad_area\w*|do_page_fault|__do_page_fault|"
    r"do_user_addr_fault|do_kern_addr_fault|page_fault_oops|kernelmode_fixup_or_oops\w*|"
    r"no_context|spurious_kernel_fault|handle_page_fault|data_access_common\w*|"
    r"panic|nmi_panic|vpanic|_printk|printk\w*|vprintk\w*|"
    r"__might_sleep|__might_fault|__might_resched|lock_acquire|lock_release|lock_is_held_type|"
    r"__lock_acquire|__lock_release|lockdep_\w+|debug_check_\w+|"
    r"entry_SYSCALL\w*|do_syscall_\w+|__do_sys_\w+|__x64_sys_\w+|__ia32_sys_\w+|__arm64_sys_\w+|"
    r"system_call\w*|\w*syscall_exception|el0\w*|el1\w*|invoke_syscall|ret_from_fork\w*|"
    r"kthread|start_kernel|secondary_startup\w*|start_secondary|cpu_startup_entry|do_idle|"
    r"common_startup\w*|x86_64_start\w*|rest_init|kernel_init|"
    # checkers that report on behalf of their caller (syzbot names the caller: "refcount bug in f")
    r"refcount_warn_saturate|__refcount_\w+|refcount_\w+|usercopy_abort|__check_heap_object|"
    r"check_heap_object|__check_object_size|check_object_size|__fortify_\w+|fortify_\w+|"
    r"__list_\w+_valid\w*|__list_valid_\w+|list_\w+_corruption|"
    # the allocator and string helpers a bad access or bad free goes through
    r"kfree|kfree_sensitive|kmem_cache_free|__kmem_cache_free|slab_free\w*|__slab_free|do_slab_free|"
    r"free_debug_processing|__slab_err|slab_err|object_err|slab_bug|print_trailer|"
    r"kmalloc\w*|__kmalloc\w*|kmem_cache_alloc\w*|__kmem_cache_alloc\w*|slab_alloc\w*|"
    r"memcpy|memmove|memset|memcmp|strcpy|strncpy|strscpy|strlen|strnlen|__memcpy|__memset|__memmove"
    r")$"
)


def frame_name(frame: Frame) -> str | None:
    """The function of a frame as compared across builds and arches (no dot, no clone suffix)."""
    if not frame.function:
        return None
    name = _DOT_SYMBOL.sub("", frame.function.strip())
    return _CLONE.sub(r"\1", name)


def frame_signature(report: Report, limit: int = SIGNATURE_FRAMES, reliable_only: bool = True) -> tuple[str, ...]:
    """The top `limit` non-generic, reliable frames of a report (the faulting IP first if printed).

    Only the first stack counts: KASAN's "Allocated by" / "Freed by" stacks and the stacks after
    an interrupt frame start after a gap of lines and say where memory came from, not what crashed.
    """
    names: list[str] = []
    frames = [report.ip] if report.ip is not None else []
    previous_line: int | None = None
    for frame in report.frames:
        if frame.role != "frame":
            continue
        if previous_line is not None and frame.line - previous_line > _STACK_GAP:
            break
        previous_line = frame.line
        frames.append(frame)
    for frame in frames:
        if reliable_only and not frame.reliable:
            continue
        name = frame_name(frame)
        if not name or _GENERIC.match(name) or (names and names[-1] == name):
            continue
        names.append(name)
        if len(names) == limit:
            break
    return tuple(names)


def signature_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """1 - normalized Levenshtein distance between two frame sequences (1.0 = identical)."""
    if not a or not b:
        return 0.0
    return float(Levenshtein.normalized_similarity(list(a), list(b)))
