"""Turn one selected console line into its stat key, the way lkp-tests' `analyze_error_id` does.

lkp keeps a fixed head of well-known reports (so a bug gets one key whatever pids, addresses or
lock names follow), drops `+0x../0x..` offsets, replaces numbers and addresses by `#` and
squeezes spaces into `_`. The second value returned is lkp's "bug to bisect" grep pattern, which
lkp prints next to each key in its yaml output; the tests compare both.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+")
# Numbered device names (lkp's etc/linux-device-names): `eth0` and `eth1` are one bug.
_DEVICE = re.compile(r"\b(eth|wlan|usb|nvme|loop|nbd|ram|mmcblk|mtd|ubi|sd[a-z]|vd[a-z]|xvd[a-z]|hd[a-z]|sr"
                     r"|ttyUSB|ttyACM)\d+\b")
_PRINTK_PREFIX = re.compile(r"^(?:kern  |user  |daemon):......: ")
_TIMESTAMP = re.compile(r"^(?:\[ *[0-9]+\.[0-9]+\] ?)?(?:\[ *[TC][0-9]+\] ?)?")

# Report heads cut to a fixed text (group 1).
_CUT_HEAD = re.compile("|".join(f"(?:{p})" for p in (
    r"(INFO: rcu[_a-z]* self-detected stall on CPU)",
    r"(INFO: rcu[_a-z]* detected stalls on CPUs/tasks:)",
    r"(INFO: rcu_tasks[_a-z]* detected stalls on tasks:)",
    r"(BUG: unable to handle kernel)",
    r"(BUG: unable to handle page fault for address)",
    r"(BUG: kernel NULL pointer dereference, address)",
    r"(BUG: Bad page state in process)",
    r"(BUG: Bad page map in process)",
    r"(BUG: workqueue lockup - pool)",
    r"(BUG: workqueue leaked lock or atomic)",
    r"(BUG: scheduling while atomic)",
    r"(BUG: spinlock bad magic on CPU)",
    r"(BUG: spinlock lockup suspected on CPU)",
    r"(BUG: spinlock already unlocked on CPU)",
    r"(BUG: spinlock recursion on CPU)",
    r"(BUG: spinlock wrong owner on CPU)",
    r"(BUG: using smp_processor_id\(\) in preemptible)",
    r"(BUG: using __this_cpu_read\(\) in preemptible)",
    r"(BUG: sleeping function called from invalid context at \S+\.[ch]):",
    r"(BUG: lock held when returning to user space!)",
    r"(WARNING: kernel stack)",
    r"(WARNING: stack recursion)",
    r"(WARNING: stack going in the wrong direction)",
    r"(WARNING: workqueue cpumask)",
    r"(PANIC: double fault)",
    r"(irq \d+: nobody cared)",
    r"(KASAN: null-ptr-deref in range \S+)",
    r"(KASAN: (?:maybe|probably) [\w-]+ in range \S+)",
    r"(kernel BUG at \S+\.[ch]):",
    r"(UBSAN: Undefined behaviour in \S+\.[ch]):",
    r"(Out of memory: Kill(?:ed)? process) \d+ \(",
    r"(Out of memory and no killable processes)",
    r"(Writer stall state) \d+ ",
    r"(used greatest stack depth:)",
    r"(is leaving the kernel with locks still held!)",
    r"(is trying to release lock \(\S+\) at)",
    r"(page allocation failure: order:\S+ mode:\S+(?: nodemask=\S+mems_allowed=)?)",
    r"(IP-Config: Auto-configuration of network failed)",
)))

# Heads whose two fixed parts surround a varying name: (key text, bisect pattern) = (1+2, 2).
_CUT_PAIR = re.compile("|".join((
    r"(BUG: )\S+ (still has locks held)",
    r"(INFO: task )\S+ (blocked for more than \d+ seconds)",
    r"(BUG: Dentry )\S+ +(still in use)",
)))
_SEGFAULT = re.compile(r"(segfault at) \S+ (ip) \S+ (sp) \S+ (error)")

# x86 die() heads `<what>: 0000 [#1]`: the config flags that follow are cut.
_DIE_HEAD = re.compile(r"([a-z]+ general protection fault):|([a-zA-Z][\w ]*: [0-9a-f]{4} \[#[0-9]+\])")
# KASAN/KFENCE `<bug> in func+0x../0x..` stop at the function (lkp's pattern has no digits in it).
_SAN_IN = re.compile(r"(BUG: (?:KASAN|KFENCE): [a-z -]+ in [a-z_]+)\+0x")
_CALLTRACE = re.compile(r"^(?:backtrace|calltrace):([a-zA-Z0-9_]+)")
_FUNC_OFFSET = re.compile(r" ([a-zA-Z.0-9_]+\+0x)")

_BISECT_SUFFIX = re.compile(r"([a-zA-Z0-9_]+)\.(?:isra|constprop|part)\.[0-9]+\+0x")
_BISECT_FUNC = re.compile(r"([a-zA-Z0-9_]+\+0x)|([a-zA-Z0-9_]+=)")
_BISECT_VARYING = re.compile(r"[^a-zA-Z/:.()!_-]")


def bisect_pattern(line: str) -> str:
    """lkp's `oops_to_bisect_pattern`: the line's words up to the first `func+0x`, with `.*` for
    words that contain numbers or other varying characters."""
    patterns: list[str] = []
    for w in line.split():
        m = _BISECT_SUFFIX.search(w)
        if m:
            patterns.append(m.group(1))
            break
        m = _BISECT_FUNC.search(w)
        if m:
            patterns.append(m.group(1) or m.group(2))
            break
        if _BISECT_VARYING.search(w):
            if not patterns or patterns[-1] != ".*":
                patterns.append(".*")
        else:
            patterns.append(w)
    while patterns and patterns[0] == ".*":
        patterns.pop(0)
    if patterns and patterns[-1] == ".*":
        patterns.pop()
    return " ".join(patterns)


# (pattern, replacement) steps of lkp's common_error_id, in order.
_COMMON_STEPS = [(re.compile(p), r) for p, r in (
    (r"\b3\.[0-9]+[-a-z0-9.]+", "#"),  # an old kernel release
    (r"\b[1-9][0-9]-[A-Z][a-z]+-[0-9]{4}\b", "#"),  # a date: 28-Dec-2013
    (r"\b0x[0-9a-f]+\b", "#"),
    (r"\b[a-f0-9]{40}\b", "#"),  # a commit id
    (r"\b[0-9][0-9.]*", "#"),
    (r"#x\b", "0x"),
    (r'[\\"$]', "~"),
    (r"\s+", " "),
    (r"([^a-zA-Z0-9]) ", r"\1"),
    (r" ([^a-zA-Z])", r"\1"),
)]
_COMMON_TAIL = re.compile(r"[-_.,;:#!\[(]+$")

# (pattern, replacement) steps of lkp's analyze_error_id applied to the kept text before and after
# common_error_id.
_ID_STEPS = [(re.compile(p), r) for p, r in (
    (r"^[^a-zA-Z]+", ""),
    (r" \]$", ""),  # [ INFO: possible recursive locking detected ]
    (r" \((?:Not tainted|Tainted: [^)]*)\)", ""),  # SLUB: BUG kmalloc-64 (Tainted: G B): ...
    (r"\.(?:isra|constprop|part)\.[0-9]+", ""),
    (r"/kbuild/src/[^/]+/", ""),
    (_DEVICE.pattern, r"\1#"),
    (r"\b[0-9a-f]{8}\b", "#"),
    (r"\b[0-9a-f]{16}\b", "#"),
    (r"(=)[0-9a-f]+\b", r"\1#"),
    (r"[+/]0x[0-9a-f]+\b", ""),
    (r"[+/][0-9a-f]+\b", ""),
)]
_ID_FINAL_STEPS = [(re.compile(p), r) for p, r in (
    (r"([a-z]:)[0-9]+\b", r"\1"),
    (r"#:\[<#>\]\[<#>\]", ""),  # RIP: 0010:[<ffff..>]  [<ffff..>] fn
    (r"\b(RIP|EIP):#:", r"\1:"),  # RIP: 0010:fn
)]
_LEADING_JUNK = re.compile(r"^[^a-zA-Z]+")


def common_error_id(line: str) -> str:
    """lkp's `common_error_id`: numbers to `#`, spaces squeezed to `_`, trailing punctuation cut."""
    line = line.rstrip("\n")
    for rx, repl in _COMMON_STEPS:
        line = rx.sub(repl, line)
    line = line.lstrip(" ")
    if line.startswith("-"):
        line = line[1:]
    return _COMMON_TAIL.sub("", line.replace(" ", "_"))


def _warning_at(line: str) -> tuple[str, str] | None:
    """`WARNING: CPU: 1 PID: 2 at file.c:3 func+0x..` keeps `at file.c:3 func`; lkp's regex is
    `WARNING:.* at .* (func+0x)` (greedy: the last `func+0x` after the last possible ` at `)."""
    if not line.startswith("WARNING:"):
        return None
    funcs = list(_FUNC_OFFSET.finditer(line))
    for f in reversed(funcs):
        at = line.rfind(" at ", len("WARNING:") - 1, f.start())
        if at >= 0 and at + 3 < f.start():
            bisect = "WARNING:.* at .* " + _SUFFIX.sub("", f.group(1))
            return "WARNING: " + line[line.find(" at ", len("WARNING:") - 1) + 1:], bisect
    return None


@lru_cache(maxsize=8192)
def analyze_error_id(line: str) -> tuple[str, str]:
    """(stat key, bug-to-bisect pattern) of one selected line (text from the report head on)."""
    line = _PRINTK_PREFIX.sub("", line)
    line = _TIMESTAMP.sub("", line)
    line = _LEADING_JUNK.sub("", line)
    m = _CALLTRACE.match(line)
    if m:
        return common_error_id(line), m.group(1) + "+0x"
    # The text starts at the report head (crash_keys cuts it there), so heads are matched in place.
    if (m := _CUT_HEAD.match(line)):
        line = bisect = next(g for g in m.groups() if g is not None)
    elif (m := _CUT_PAIR.match(line)):
        first, second = [g for g in m.groups() if g is not None]
        line, bisect = first + second, second
    elif "segfault at " in line and (m := _SEGFAULT.search(line)):
        line = bisect = " ".join(m.groups())
    elif line.startswith("Corrupted low memory at"):
        # Corrupted low memory at ffff880000007b08 (7b08 phys) = 27200c000000000
        bisect = bisect_pattern(line)
        line = re.sub(r"= \b[0-9a-f]+\b", "= #", re.sub(r"\b[0-9a-f]+\b phys", "# phys", line))
    elif (w := _warning_at(line)):
        line, bisect = w
    elif (m := _SAN_IN.match(line)):
        line = bisect = m.group(1)
    elif (m := _DIE_HEAD.match(line)):
        line = m.group(1) or m.group(2)
        bisect = bisect_pattern(line)
    else:
        bisect = bisect_pattern(line)

    error_id = line
    for rx, repl in _ID_STEPS:
        error_id = rx.sub(repl, error_id)
    error_id = common_error_id(error_id)
    for rx, repl in _ID_FINAL_STEPS:
        error_id = rx.sub(repl, error_id)
    return error_id, bisect
