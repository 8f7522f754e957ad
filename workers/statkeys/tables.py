"""The robot's pattern files as data (spec §10 of ../shared/reference/lkp-stat-key-rules.md).

Each OOPS entry keeps the spec's number, its regex (the spec's neutral notation written in Python:
ANY `.`, D `[0-9]`, H `[0-9a-f]`, W `[A-Za-z0-9_]`; explicit ASCII classes, §0.2-2) and the literal
words one of which every line it matches contains. The words only let `dmesg`/`kmsg` skip the lines
no pattern can match without running the alternation on them (one Aho-Corasick pass over the log);
they never decide a match.
"""

from __future__ import annotations

import re

# §10.1 etc/oops-pattern: (number, regex, anchor words), in file order. The order matters: the
# patterns form one alternation and the first listed alternative wins at the leftmost start (§3.4).
OOPS_PATTERNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("P01", r" -- System halted", (" -- System halted",)),
    ("P02", r" but this task is not holding: .*", (" but this task is not holding: ",)),
    ("P03", r" is exiting with locks still held!", (" is exiting with locks still held!",)),
    ("P04", r" is freeing memory .*, with a lock still held there!", (" is freeing memory ",)),
    ("P05", r" is leaving the kernel with locks still held!", (" is leaving the kernel with locks still held!",)),
    ("P06", r" is trying to contend lock \(.*\) at", (" is trying to contend lock (",)),
    ("P07", r" is trying to lock: .*", (" is trying to lock: ",)),
    ("P08", r" is trying to release lock \(.*\) at", (" is trying to release lock (",)),
    ("P09", r"32-bit relocation outside of kernel!", ("32-bit relocation outside of kernel!",)),
    ("P10", r"64-bit relocation outside of kernel!", ("64-bit relocation outside of kernel!",)),
    ("P11", r"addition on 0; use-after-free", ("addition on 0; use-after-free",)),
    ("P12", r"Assertion failed", ("Assertion failed",)),
    ("P13", r"assertion failed", ("assertion failed",)),
    ("P14", r"Assertion failure", ("Assertion failure",)),
    ("P15", r"assertion failure", ("assertion failure",)),
    ("P16", r"audit: \(.*\) error: .*", ("audit: (",)),
    ("P17", r"BUG .* \(.*\): .*", ("BUG ",)),
    ("P18", r"CFI failure at [A-Za-z0-9_]+", ("CFI failure at ",)),
    ("P19", r"CPU[0-9]+: .* cpu clock throttled .*", (" cpu clock throttled ",)),
    ("P20", r"decrement hit 0; leaking memory", ("decrement hit 0; leaking memory",)),
    ("P21", r"Destination address inappropriately aligned", ("Destination address inappropriately aligned",)),
    ("P22", r"Destination address too large", ("Destination address too large",)),
    ("P23", r"EIP is at [A-Za-z0-9._]+\+0x.*/0x.*", ("EIP is at ",)),
    ("P24", r"EIP: [A-Za-z0-9._]+\+0x[0-9a-f]+/0x[0-9a-f]+", ("EIP: ",)),
    ("P25", r"Failed to allocate space for phdrs", ("Failed to allocate space for phdrs",)),
    ("P26", r"failed to enable IOPF feature", ("failed to enable IOPF feature",)),
    ("P27", r"genirq: Flags mismatch irq .*", ("genirq: Flags mismatch irq ",)),
    ("P28", r"getblk\(\): invalid block size [0-9]+ requested", ("getblk(): invalid block size ",)),
    ("P29", r"GUP no longer grows the stack", ("GUP no longer grows the stack",)),
    ("P30", r"inconsistent \{.*\} -> \{.*\} usage\.", ("inconsistent {",)),
    ("P31", r"INFO: .* cpu=.*", (" cpu=",)),
    ("P32", r"INFO: .*detected stall.*", ("detected stall",)),
    ("P33", r"INFO: 0x.*. First byte 0x.*", ("INFO: 0x",)),
    ("P34", r"INFO: Object 0x.*", ("INFO: Object 0x",)),
    ("P35", r"INFO: Slab 0x.*", ("INFO: Slab 0x",)),
    ("P36", r"INFO: task .* blocked for more than .* seconds", ("INFO: task ",)),
    ("P37", r"INFO: trying to register non-static key.", ("INFO: trying to register non-static key",)),
    ("P38", r"initcall .* returned with .*", (" returned with ",)),
    ("P39", r"Initiating system reboot", ("Initiating system reboot",)),
    ("P40", r"Initramfs unpacking failed:", ("Initramfs unpacking failed:",)),
    ("P41", r"invoked oom-killer: gfp_mask=0x", ("invoked oom-killer: gfp_mask=0x",)),
    ("P42", r"IP-Config: Auto-configuration of network failed", ("IP-Config: Auto-configuration of network failed",)),
    ("P43", r"irq .* nobody cared", (" nobody cared",)),
    ("P44", r"KASAN: .*", ("KASAN: ",)),
    ("P45", r"Kernel BUG at", ("Kernel BUG at",)),
    ("P46", r"kernel BUG at .*", ("kernel BUG at ",)),
    ("P47", r"Kernel is not a valid ELF file", ("Kernel is not a valid ELF file",)),
    ("P48", r"Kernel panic - not syncing: .*", ("Kernel panic - not syncing: ",)),
    ("P49", r"KGDB: re-enter exception: ALL breakpoints killed", ("KGDB: re-enter exception: ALL breakpoints killed",)),
    ("P50", r"kobject .*: (?:tried to .*|invalid kobject pointer!|must have a ktype to be initialized properly!)",
     ("kobject ",)),
    ("P51", r"low stack detected by irq handler", ("low stack detected by irq handler",)),
    ("P52", r"Mem-Info:", ("Mem-Info:",)),
    ("P53", r"neighbour: Destroying alive neighbour.*", ("neighbour: Destroying alive neighbour",)),
    ("P54", r"no CFI hash found at.*", ("no CFI hash found at",)),
    ("P55", r"Oops: .*", ("Oops: ",)),
    ("P56", r"Out of memory and no killable processes", ("Out of memory and no killable processes",)),
    ("P57", r"Out of memory: Kill process", ("Out of memory: Kill process",)),
    ("P58", r"page allocation failure: order:[0-9]+, mode:0x.*", ("page allocation failure: order:",)),
    ("P59", r"pagealloc: memory corruption", ("pagealloc: memory corruption",)),
    ("P60", r"pagealloc: single bit error", ("pagealloc: single bit error",)),
    ("P61", r"PANIC: double fault,", ("PANIC: double fault,",)),
    ("P62", r"PANIC: early exception", ("PANIC: early exception",)),
    ("P63", r"refcount_t: underflow; use-after-free", ("refcount_t: underflow; use-after-free",)),
    ("P64", r"RIP: [0-9a-f]{4}:[A-Za-z0-9._]+\+0x.*/0x.*", ("RIP: ",)),
    ("P65", r"RIP: [0-9a-f]{4}:\[.*\] [A-Za-z0-9._]+\+0x.*/0x.*", ("RIP: ",)),
    ("P66", r"rootfs image is not initramfs \(invalid magic at start of compressed archive\)",
     ("rootfs image is not initramfs (invalid magic at start of compressed archive)",)),
    ("P67", r"rsyslogd.* bad frame in 32bit sigreturn", (" bad frame in 32bit sigreturn",)),
    ("P68", r"S0Box: more than 5 loops in s0box_interrupt", ("S0Box: more than 5 loops in s0box_interrupt",)),
    ("P69", r"saturated; leaking memory", ("saturated; leaking memory",)),
    ("P70", r"smp: csd: Re-sending CSD lock", ("smp: csd: Re-sending CSD lock",)),
    ("P71", r"sysctl could not get directory:", ("sysctl could not get directory:",)),
    ("P72", r"sysctl duplicate entry:", ("sysctl duplicate entry:",)),
    ("P73", r"sysctl link missing during unregister:", ("sysctl link missing during unregister:",)),
    ("P74", r"sysctl table check failed:", ("sysctl table check failed:",)),
    ("P75", r"sysfs: cannot create duplicate filename", ("sysfs: cannot create duplicate filename",)),
    ("P76", r"UBSAN: .*", ("UBSAN: ",)),
    ("P77", r"Unknown interrupt or fault at:", ("Unknown interrupt or fault at:",)),
    ("P78", r"unknown saturation event", ("unknown saturation event",)),
    ("P79", r"WARNING: .* detected$", ("WARNING: ",)),
    ("P80", r"WARNING: .* lock.*", ("WARNING: ",)),  # the space before `lock` is part of it
    ("P81", r"WARNING: .*!$", ("WARNING: ",)),
    ("P82", r"WARNING: at .*", ("WARNING: ",)),
    ("P83", r"WARNING: bad lookup idx: .*", ("WARNING: ",)),
    ("P84", r"WARNING: chain_key collision", ("WARNING: ",)),
    ("P85", r"WARNING: CPU: [0-9]+ PID: .+ at .*", ("WARNING: ",)),
    ("P86", r"WARNING: dead process", ("WARNING: ",)),
    ("P87", r"WARNING: kernel stack", ("WARNING: ",)),
    ("P88", r"WARNING: stack recursion", ("WARNING: ",)),
    ("P89", r"WARNING: suspicious RCU usage", ("WARNING: ",)),
    ("P90", r"WARNING: workqueue cpumask:", ("WARNING: ",)),
    ("P91", r"warn_alloc_failed\+0x", ("warn_alloc_failed+0x",)),
    ("P92", r"Wrong destination address", ("Wrong destination address",)),
    # P93-P95 start with a repeated class: the lookbehinds (not in the spec) only skip start
    # positions inside a run, where no leftmost match can start, and keep the search linear.
    ("P93", r"(?<![A-Za-z0-9_ #])[A-Za-z0-9_ #]+: [0-9a-f]{4} \[#[0-9]+\]", (" [#",)),
    ("P94", r"(?<![A-Za-z0-9_ \-])[A-Za-z0-9_ \-]+: BUG: .*", (": BUG: ",)),
    # P95 has no literal word: `.c:`/`.h:` are everywhere in decoded traces, so its lines are found
    # apart (`p95_lines`): those ending in `!` that hold one of them.
    ("P95", r"(?<![^ ])[^ ]*\.[ch]:[0-9]+ .*!$", ()),
    ("P96", r"\[ *[0-9.]+\] BUG: .*", ("] BUG: ",)),
    ("P97", r"\[ BUG: [^b].*! \]", ("[ BUG: ",)),
    ("P98", r"\[ INFO: [^i].* \]", ("[ INFO: ",)),
    ("P99", r"\[ {0,4}[A-Z][0-9]{1,5}\] BUG: .*", ("] BUG: ",)),
    ("P100", r"\[drm:.*\[i915\]\]", ("[drm:",)),
    ("P101", r"^BUG: .*", ("BUG: ",)),
)

# §3.4: the whole list as one alternation, captured text = the whole match of the winning entry.
OOPS = re.compile("|".join(f"(?:{regex})" for _, regex, _ in OOPS_PATTERNS))
OOPS_WORDS: tuple[str, ...] = tuple(dict.fromkeys(w for _, _, words in OOPS_PATTERNS for w in words))
P95_WORDS = (".c:", ".h:")


def is_oops(line: str) -> bool:
    """Whether one line matches any OOPS pattern (the words only skip the regex when none can)."""
    if not (any(w in line for w in OOPS_WORDS) or line.endswith("!") and any(w in line for w in P95_WORDS)):
        return False
    return OOPS.search(line) is not None

# §10.2 etc/oops-pattern-ignore: a selected line matching any of these is dropped (dmesg mode only).
OOPS_IGNORE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("I1", r"BUG: KASAN: .* \[kasan_test\]"),
    ("I2", r"BUG: KFENCE: .* \[kfence_test\]"),
    ("I3", r"INFO: NMI handler .* took too long to run"),
    ("I4", r"INFO: Stall ended before state dump start"),
    ("I5", r"Killed process [0-9]+ \("),
    ("I6", r"Out of memory: .*trinity"),
    ("I7", r"Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via "
           r"Spectre v2 BHB attacks"),
    ("I8", r"trinity.*: page allocation failure"),
    ("I9", r"trinity.*: page allocation stalls for"),
)
OOPS_IGNORE = re.compile("|".join(f"(?:{regex})" for _, regex in OOPS_IGNORE_PATTERNS))
# Words one of which each ignore pattern needs: most selected lines are frames holding none.
OOPS_IGNORE_WORDS = ("BUG: K", "INFO: ", "Killed process ", "Out of memory: ", "Spectre V2 : ", "trinity")

# §10.3 built-in lists of the parser library.
_COMMON_CONTEXT = r"do_one_initcall|do_basic_setup|kernel_init_freeable|kernel_init|kthread|kernel_thread" \
                  r"|process_one_work|notifier_call_chain"
CALLTRACE = re.compile(rf"(?:{_COMMON_CONTEXT}|SyS_[a-z0-9_]+)\+0x")
CALLTRACE_WORDS = (*(f"{name}+0x" for name in _COMMON_CONTEXT.split("|")), "SyS_")
CALLTRACE_IGNORE = re.compile(rf"(?:{_COMMON_CONTEXT}|worker_thread|warn_slowpath_.*)\+0x")
FRAME_NAME = re.compile(r">\] ([A-Za-z0-9_.]+)\+0x[0-9a-fx/]+")
OOM_FLAG = re.compile(r"invoked oom-killer: gfp_mask=|Out of memory and no killable processes...")
BLOCK_DEVICE_NAMES = (
    "bcache", "blkext", "btt", "dasd", "drbd", "fd", "hd", "jsfd", "lloop", "loop", "md", "mdp", "mmc", "nbd",
    "nd_blk", "nfhd", "nullb", "nvme", "pmem", "ramdisk", "scm", "sd", "simdisk", "sr", "ubd", "ubiblock",
    "virtblk", "xsysace", "zram",
)
