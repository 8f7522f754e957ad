"""Fields derived from a title or a whole log: suppression (spec §12), the title's frame (§15.1), the
crash type (§15.2), executor ids and "panicked" (§15.3), and the guilty file of a symbolised report
(§16). Spec: ../shared/reference/syzkaller-report-rules.md.
"""

from __future__ import annotations

import functools
import re

# §12: a log containing any of these is suppressed (reports kept, reported to nobody).
SUPPRESSIONS = re.compile("|".join([
    r"panic: failed to start executor binary", r"panic: executor failed: pthread_create failed",
    r"panic: failed to create temp dir", r"fatal error: unexpected signal during runtime execution",
    r"signal SIGBUS: bus error", r"SYZFAIL: SIGBUS", r"Out of memory: Kill process .* \(syz-executor\)",
    r"Out of memory: Kill process .* \(sshd\)", r"Killed process .* \(syz-executor\)", r"Killed process .* \(sshd\)",
    r"lowmemorykiller: Killing 'syz-executor'", r"lowmemorykiller: Killing 'sshd'",
    r"INIT: PANIC: segmentation violation!", r"\*\*\* stack smashing detected \*\*\*: terminated",
    r"fatal error: runtime: out of memory", r"fatal error: runtime: cannot allocate memory",
    r"fatal error: out of memory", r"fatal error: newosproc", r"panic: .*cannot allocate memory",
]), re.A)


# Substrings of every suppression pattern: only lines holding one are searched.
SUPPRESSION_WORDS = ("panic: ", "fatal error: ", "signal SIGBUS: bus error", "SYZFAIL: SIGBUS", "Out of memory: Kill process ",
                     "Killed process ", "lowmemorykiller: Killing '", "INIT: PANIC: segmentation violation!",
                     "*** stack smashing detected ***: terminated")


def suppressed(output: str) -> bool:
    """§12: is a report in this console output suppressed (reported to nobody)?"""
    return SUPPRESSIONS.search(output) is not None


# §15.1: the token after the last " in ", optionally led by one <...> group (Rust impls).
_FRAME = re.compile(r"(?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+", re.A)


def title_frame(title: str) -> str:
    at = title.rfind(" in ")
    if at < 0:
        return ""
    m = _FRAME.match(title, at + 4)
    return m.group(0) if m else ""


# §15.2: (title prefixes, type), first match wins.
_KASAN_WRITE = tuple(f"KASAN: {k} Write" for k in ("global-out-of-bounds", "out-of-bounds", "slab-out-of-bounds",
                                                    "stack-out-of-bounds", "user-memory-access",
                                                    "vmalloc-out-of-bounds", "wild-memory-access"))
TYPES: list[tuple[tuple[str, ...], str]] = [
    (("KFENCE: use-after-free write",), "KFENCE-USE-AFTER-FREE-WRITE"),
    (("KFENCE: use-after-free read", "KFENCE: use-after-free"), "KFENCE-USE-AFTER-FREE-READ"),
    (("KFENCE: invalid write", "KFENCE: out-of-bounds write"), "KFENCE-WRITE"),
    (("KFENCE: invalid read", "KFENCE: out-of-bounds read", "KFENCE: out-of-bounds"), "KFENCE-READ"),
    (("KFENCE: memory corruption",), "KFENCE-MEMORY-CORRUPTION"),
    (("KFENCE: invalid free",), "KFENCE-INVALID-FREE"),
    (("KMSAN: uninit-value",), "KMSAN-UNINIT-VALUE"),
    (("KMSAN: kernel-infoleak-after-free", "KMSAN: kernel-usb-infoleak-after-free", "KMSAN: use-after-free"),
     "KMSAN-USE-AFTER-FREE-READ"),
    (("KMSAN: kernel-infoleak", "KMSAN: kernel-usb-infoleak"), "KMSAN-INFO-LEAK"),
    (("KASAN: null-ptr-deref Write",), "KASAN-NULL-POINTER-DEREFERENCE-WRITE"),
    (("KASAN: null-ptr-deref Read",), "KASAN-NULL-POINTER-DEREFERENCE-READ"),
    (("BUG: unable to handle kernel NULL pointer dereference in",), "NULL-POINTER-DEREFERENCE"),
    (_KASAN_WRITE, "KASAN-WRITE"),
    (("KASAN: global-out-of-bounds Read", "KASAN: invalid-access Read", "KASAN: out-of-bounds Read",
      "KASAN: slab-out-of-bounds Read", "KASAN: slab-out-of-bounds", "KASAN: stack-out-of-bounds Read",
      "KASAN: stack-out-of-bounds", "KASAN: unknown-crash Read", "KASAN: user-memory-access Read",
      "KASAN: vmalloc-out-of-bounds Read", "KASAN: wild-memory-access Read", "KASAN: wild-memory-access"),
     "KASAN-READ"),
    (("KASAN: double-free or invalid-free", "KASAN: invalid-free"), "KASAN-INVALID-FREE"),
    (("KASAN: slab-use-after-free Write", "KASAN: use-after-free Write"), "KASAN-USE-AFTER-FREE-WRITE"),
    (("KASAN: slab-use-after-free Read", "KASAN: use-after-free Read", "KASAN: use-after-free"),
     "KASAN-USE-AFTER-FREE-READ"),
    (("BUG: corrupted list", "BUG: unable to handle kernel paging request"), "MEMORY_SAFETY_BUG"),
    (("WARNING: refcount bug",), "REFCOUNT_WARNING"),
    (("UBSAN: array-index-out-of-bounds",), "MEMORY_SAFETY_UBSAN"),
    (("KCSAN: data-race",), "KCSAN-DATARACE"),
    (("KCSAN: assert: race in",), "KCSAN-ASSERT"),
    (("BUG: bad unlock balance in", "BUG: held lock freed in", "BUG: rwlock", "BUG: spinlock",
      "BUG: still has locks held in", "BUG: using", "WARNING: bad unlock balance in", "WARNING: held lock freed in",
      "WARNING: lock held", "WARNING: locking bug in", "WARNING: nested lock was not taken in",
      "WARNING: still has locks held in", "WARNING: suspicious RCU usage in", "inconsistent lock state in",
      "possible deadlock in"), "LOCKDEP"),
    (("BUG: scheduling while atomic in", "BUG: sleeping function called from invalid context in"), "ATOMIC_SLEEP"),
    (("memory leak in",), "LEAK"),
    (("BUG: bad usercopy in", "kernel BUG"), "BUG"),
    (("WARNING in",), "WARNING"),
    (("BUG: stack guard page was hit in", "WARNING: corrupted", "WARNING: kernel stack frame pointer has bad value",
      "WARNING: kernel stack regs has bad"), "UNKNOWN"),
    (("BUG: soft lockup in", "INFO: rcu detected stall in", "INFO: task can't die in", "INFO: task hung in"), "HANG"),
    (("Alignment trap in", "BUG: Object already free", "Internal error in", "PANIC: double fault", "Unhandled fault in",
      "VFS: Busy inodes after unmount (use-after-free)", "VFS: Close: file count is zero (use-after-free)",
      "divide error in", "general protection fault in", "go runtime error", "int3 in", "invalid opcode in",
      "kernel panic:", "kernel stack overflow", "panic:", "rust_kernel panicked", "stack segment fault in", "trusty:",
      "unregister_netdevice: waiting for DEV to become free"), "DoS"),
    (("no output from test machine",), "NO_OUTPUT"),
    (("unexpected kernel reboot",), "REBOOT"),
    (("SYZFAIL", "SYZFATAL:"), "SYZ_FAILURE"),
    (("WARNING:",), "WARNING"),
    (("BUG:",), "UNKNOWN"),
    (("INFO:",), "UNKNOWN"),
    (("KASAN:",), "KASAN-UNKNOWN"),
    (("KFENCE:",), "KFENCE-UNKNOWN"),
    (("KMSAN:",), "KMSAN-UNKNOWN"),
    (("UBSAN:",), "UBSAN"),
    (("KCSAN:",), "KCSAN-UNKNOWN"),
]


@functools.lru_cache(maxsize=4096)
def crash_type(raw_title: str) -> str:
    """§15.2: the crash type of a title (before normalisation)."""
    for prefixes, kind in TYPES:
        if raw_title.startswith(prefixes):
            return kind
    return "UNKNOWN"


_EXECUTOR = re.compile(r" Comm: syz\.(\d+)\.(\d+) ", re.A)


def executor(report_text: str) -> tuple[int, int] | None:
    """§15.3: (proc id, program id) of the syzkaller executor that crashed, if it did."""
    m = _EXECUTOR.search(report_text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def panicked(output: str) -> bool:
    return "Kernel panic - not syncing" in output


# §16 guilty file.
_SOURCE = re.compile(r"([a-zA-Z0-9_\-./]+\.[ch]):[0-9]+", re.A)
_IGNORED_FILES = re.compile(
    r"^(?:.*\.h|lib/.*|virt/lib/.*|mm/kasan/.*|mm/kmsan/.*|kernel/kcov\.c|mm/sl.b\.c|mm/filemap\.c"
    r"|mm/folio-compat\.c|mm/truncate\.c|mm/memory\.c|mm/percpu.*|mm/vmalloc\.c|mm/page_alloc\.c|mm/mempool\.c"
    r"|mm/util\.c|kernel/rcu/.*|arch/[^/]+/kernel/traps\.c|arch/[^/]+/kernel/unwind.*\.c|arch/[^/]+/mm/fault\.c"
    r"|arch/[^/]+/mm/physaddr\.c|arch/[^/]+/kernel/stacktrace\.c|arch/[^/]+/kernel/apic/apic\.c"
    r"|arch/arm64/kernel/entry.*\.c|arch/arm64/kernel/process\.c|kernel/locking/.*|kernel/panic\.c"
    r"|kernel/printk/printk.*\.c|kernel/softirq\.c|kernel/kthread\.c|kernel/sched/[^/]*\.c|kernel/stacktrace\.c"
    r"|kernel/time/timer\.c|kernel/workqueue\.c|net/core/dev\.c|net/core/sock\.c|net/core/skbuff\.c"
    r"|fs/proc/generic\.c|trusty/.*|drivers/usb/core/urb\.c|arch/[^/]+/lib/crc.*)\Z", re.A)
_IGNORED_LINES = re.compile(
    r"(?:hardirqs|softirqs)\s+last\s+(?:enabled|disabled)|,\s*at:\s*|^\s*#[0-9]+:|^Register r[0-9]+ information",
    re.A)


def _clean_path(path: str) -> str:
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == ".." and parts:
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts)


def guilty_file(title: str, report: str) -> str:
    """§16: the source file to blame in a symbolised report body ("" when it names none)."""
    if title.startswith("INFO: rcu detected stall"):
        for anchor in ("apic_timer_interrupt+0x", "el1h_64_irq+0x", "Exception stack"):
            at = report.find(anchor)
            if at >= 0:
                found = _guilty_in(report[at:])
                if found:
                    return found
    return _guilty_in(report)


def _guilty_in(report: str) -> str:
    first = ""
    guilty = ""
    for line in report.split("\n"):
        for m in _SOURCE.finditer(line):
            path = _clean_path(m.group(1))
            if not first:
                first = path
            if _IGNORED_FILES.match(path) or _IGNORED_LINES.search(line):
                continue
            if not guilty:
                guilty = path
            elif path.startswith(guilty.rsplit("/", 1)[0] + "/") and path.count("/") > guilty.count("/"):
                guilty = path  # deeper under the guilty file's directory
    return guilty or first


def report_guilty_file(title: str, lines: list[str], start: int, end: int, decoded: dict[int, str]) -> str:
    """§16 over lines [start, end] of a log, each frame line replaced by its decoded text (`decoded`:
    line number -> the line as decode_stacktrace.sh prints it)."""
    body = "\n".join(decoded.get(i, lines[i]) for i in range(start, min(end, len(lines) - 1) + 1))
    return guilty_file(title, body)
