"""The formats, as data: syzkaller's oops groups (spec §3.1, §3.2) and their formats (spec §14), in
the spec's table order. Everything else in the parser interprets this table.

Spec: ../shared/reference/syzkaller-report-rules.md. The catalogue is split by job: `patterns` (the
spec's tokens, §0, and the matchers they compile to), `schema` (the row types and the shared stack
rules), `formats` (the formats of the BUG, WARNING, INFO and Kernel panic groups); this module holds
the group table itself and re-exports the names other modules import from it.

Patterns use the spec's tokens (see `patterns`). Templates name captures ({type}) and the stack rule's
frames ({FRAME}, {FRAME1}, {FRAME2}). Two backtracking wildcards in a row (`.*A.*B`) are written
`(?>.*?A).*B`: the same yes/no answer and match start, in linear time on long lines.
"""

from __future__ import annotations

import re

from workers.parser.formats import BUG_FORMATS, INFO_FORMATS, PANIC_FORMATS, WARNING_FORMATS
from workers.parser.patterns import COLLECT, FUNC, LINES, PC, SRC, TASK, WS_TO_END, Find, MultiLine, rx
from workers.parser.schema import (
    BAD_ACCESS,
    CALL_TRACE,
    CTR,
    HANG,
    INVALID_FREE,
    KFENCE_STACK,
    KMSAN_STACK,
    LOCK_AT,
    RIP,
    RIP_HINTS,
    RIP_LINE,
    RIP_ONLY,
    SOR,
    STACK_OVERFLOW,
    STALL,
    USB_SKIP,
    WSR,
    F,
    Format,
    Group,
    Stack,
    _suppress,
)

__all__ = [
    "BAD_ACCESS", "CALL_TRACE", "COLLECT", "CTR", "FUNC", "GROUPS", "HANG", "HEADERS", "INVALID_FREE",
    "KFENCE_STACK", "KMSAN_STACK", "LINES", "LOCK_AT", "NON_STARTING", "PC", "RIP", "RIP_HINTS", "RIP_LINE",
    "RIP_ONLY", "SOR", "SRC", "STACK_NOTICES", "STACK_OVERFLOW", "STALL", "TASK", "USB_SKIP", "WSR",
    "WS_TO_END", "F", "Find", "Format", "Group", "MultiLine", "Stack", "rx",
]

_UBSAN_STACK = CTR.with_(skip=("ubsan", "overflow"))

# §3.1: the groups, in table order (the order decides which group a line belongs to).
GROUPS: list[Group] = [
    Group("BUG:", _suppress(r"ODEBUG:", r"Boot_DEBUG:", r"xlog_status:", r"DEBUG:",
                            r"BUG: no syscalls can create resource"), BUG_FORMATS, "BUG"),
    Group("WARNING:", _suppress(  # §3.2
        r"WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
        r"WARNING: workqueue cpumask: online intersect > possible intersect",
        r"WARNING: [Tt]he mand mount option",
        r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
        r"WARNING: Unprivileged eBPF is enabled with eIBRS",
        r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size \((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\)",
        r"WARNING: See https.* for mitigation options.",
        r"WARNING: kernel not compiled with CPU_SRSO",
        r"EXT4-[Ff][Ss](?: \(.*\))?:",
        r"(?i)warning: .* uses (?:deprecated v2 capabilities|wireless extensions)",
        r"XFS \(\w+\): WARNING",
    ), WARNING_FORMATS, "WARNING"),
    Group("INFO:", _suppress(
        r"INFO: lockdep is turned off", r"INFO: Stall ended before state dump start", r"INFO: NMI handler",
        r"INFO: recovery required on readonly filesystem", r"(?:handler|interrupt).*took too long",
        r"INFO: sys_.* is not present in /proc/kallsyms", r"INFO: no syscalls can create resource",
        r"rmt_storage:INFO:", r"_INFO:",
    ), INFO_FORMATS, "INFO"),
    Group("Unable to handle kernel", (), [
        F("4.1", r"Unable to handle kernel (?P<what>paging request|NULL pointer dereference|access to user memory)",
          "BUG: unable to handle kernel {what} in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="BUG"),
    ], "BUG"),
    Group("general protection fault", _suppress(r"general protection fault .* error:\d+ in "), [
        F("5.1", r"general protection fault.*:", "general protection fault in {FRAME}", alts=BAD_ACCESS, stack=SOR,
          kind="GPF"),
    ], "GPF"),
    Group("stack segment: ", (), [F("6.1", r"stack segment: ", "stack segment fault in {FRAME}", stack=SOR, kind="GPF")],
          "GPF"),
    Group("Kernel panic", (), PANIC_FORMATS, "panic"),
    Group("PANIC: double fault", (), [
        F("8.1", r"PANIC: double fault", "PANIC: double fault in {FRAME}", stack=RIP_ONLY, kind="double fault"),
    ], "double fault"),
    Group("rust_kernel: panicked", (), [
        F("9.1", r"rust_kernel: panicked", "{msg} in {FRAME}", r"rust_kernel: panicked at .*\n(?P<msg>.+)\n",
          stack=CTR.with_(skip=(re.escape("__rustc::rust_begin_unwind"),)), kind="rust panic"),
    ], "rust panic"),
    Group("kernel BUG", (), [
        F("10.1", r"kernel BUG at mm/usercopy.c", "BUG: bad usercopy in {FRAME}",
          stack=CTR.with_(skip=("usercopy", "__check")), kind="BUG"),
        F("10.2", r"kernel BUG at lib/list_debug.c", "BUG: corrupted list in {FRAME}", alts=BAD_ACCESS, stack=CTR,
          kind="BUG"),
        F("10.3", r"kernel BUG at (?P<where>.*)", "kernel BUG in {FRAME}", stack=SOR.with_(skip=("^skb_",)), kind="BUG"),
    ], "BUG"),
    Group("Kernel BUG", (), [F("11.1", r"Kernel BUG (?P<rest>.*)", "kernel BUG {rest}", kind="BUG")], "BUG"),
    Group("BUG kmalloc-", (), [
        F("12.1", r"BUG kmalloc-.*: Object already free", "BUG: Object already free", kind="SLUB"),
    ], "SLUB"),
    Group("divide error:", (), [
        F("13.1", r"divide error: ", "divide error in {FRAME}", stack=RIP_ONLY, kind="divide error"),
    ], "divide error"),
    Group("divide_error:", (), [
        F("14.1", r"divide_error: ", "divide error in {FRAME}", stack=RIP_ONLY, kind="divide error"),
    ], "divide error"),
    Group("invalid opcode:", (), [
        F("15.1", r"invalid opcode: ", "invalid opcode in {FRAME}", stack=RIP_ONLY, kind="invalid opcode"),
    ], "invalid opcode"),
    Group("int3:", (), [F("16.1", r"int3: ", "int3 in {FRAME}", stack=SOR, kind="int3")], "int3"),
    Group("UBSAN:", (), [
        F("17.1", r"UBSAN:", "UBSAN: undefined-behaviour in {FRAME}", r"UBSAN: Undefined behaviour in",
          stack=_UBSAN_STACK, kind="UBSAN"),
        F("17.2", r"UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in {FRAME}",
          alts=BAD_ACCESS, stack=_UBSAN_STACK, kind="UBSAN"),
        F("17.3", r"UBSAN:", "UBSAN: {kind} in {FRAME}", r"UBSAN: (?P<kind>.*?) in", stack=_UBSAN_STACK, kind="UBSAN"),
    ], "UBSAN"),
    Group("Booting the kernel.", _suppress(r"Parsing ELF|Decompressing Linux|Unknown parameter '"), [
        F("18.1", r"^Booting the kernel", "unexpected kernel reboot", nstc=True, kind="reboot"),
    ], "reboot"),
    Group("unregister_netdevice: waiting for", (), [
        F("19.1", r"unregister_netdevice: waiting for .* to become free",
          "unregister_netdevice: waiting for DEV to become free", nstc=True, kind="hang"),
    ], "hang"),
    Group("VFS: Close: file count is 0", (), [
        F("20.1", r"VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)", nstc=True,
          kind="BUG"),
    ], "BUG"),
    Group("VFS: Busy inodes after unmount", (), [
        F("21.1", r"VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount (use-after-free)", nstc=True,
          kind="BUG"),
    ], "BUG"),
    Group("Internal error:", (), [
        F("22.1", r"Internal error:", "Internal error in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("Unhandled fault:", (), [
        F("23.1", r"Unhandled fault:", "Unhandled fault in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("Alignment trap:", (), [
        F("24.1", r"Alignment trap:", "Alignment trap in {FRAME}", stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("trusty: panic", (), [
        F("25.1", r"trusty: panic.* ASSERT FAILED", "trusty: ASSERT FAILED: {msg}",
          r"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (?P<msg>.+)", nstc=True, kind="panic"),
        F("25.2", r"trusty: panic(?>.*? ASSERT FAILED).*: *(?P<msg>.*)", "trusty: ASSERT FAILED: {msg}", corr=True,
          kind="panic"),
        F("25.3", r"trusty: panic", "trusty: panic: {msg}", r"trusty: panic \(.*?\): (?P<msg>.+)", nstc=True,
          kind="panic"),
    ], "panic"),
    Group("fatal error:", _suppress(r"ALSA", r"fatal error: cannot create timer"), [
        F("26.1", r"fatal error:", "go runtime error", nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
    Group("SYZFAIL:", (), [F("27.1", r"SYZFAIL:(?P<rest>.*)", "SYZFAIL:{rest}", nstc=True, kind="SYZFAIL")], "SYZFAIL"),
    Group("SYZFATAL:", (), [
        F("28.1", r"SYZFATAL:(?P<rest>.*)", "SYZFATAL:{rest}", alts=("SYZFATAL",), nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
    Group("panic:", _suppress(r"_panic:", r"xlog_status:", r"ddb\.onpanic:", r"evtlog_status:"), [
        F("29.1", r"panic: Sentry detected .* stuck task", "panic: Sentry detected stuck tasks", nstc=True,
          kind="SYZFAIL"),
        F("29.2", r"panic:(?P<rest>.*)", "panic:{rest}", nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
]

HEADERS = tuple(g.header for g in GROUPS)

# §4.2: lines that start a second report although they are not oops lines ...
STACK_NOTICES = ("vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure", "FAULT_FLAG_ALLOW_RETRY missing")
# ... and oops lines that never start one (they follow from the report before them).
NON_STARTING = ("invalid opcode: 0000", "Kernel panic - not syncing", "unregister_netdevice: waiting for",
                "PANIC: double fault", "Internal error:")
