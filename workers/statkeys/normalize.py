"""Turn one selected console line into its stat key, the way lkp-tests' `analyze_error_id` does.

lkp keeps a short head of the message for well-known reports (so that a bug gets one key however
its details vary), replaces numbers and addresses by `#`, drops `+0x../0x..` offsets and squeezes
spaces into `_`. The second value returned is lkp's "bug to bisect" grep pattern; the yaml
fixtures print it, which is how these rules were checked.
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"\.(?:isra|constprop|part)\.[0-9]+")
# Numbered device names (lkp's etc/linux-device-names): `eth0` and `eth1` are one bug.
_DEVICE = re.compile(r"\b(eth|wlan|usb|nvme|loop|nbd|ram|mmcblk|mtd|ubi|sd[a-z]|vd[a-z]|xvd[a-z]|hd[a-z]|sr|ttyUSB|ttyACM)\d+\b")

# Report heads that lkp cuts to a fixed prefix: the rest of the line (pids, addresses, lock
# names) varies from run to run.
_CUT_HEADS = [re.compile(p) for p in (
    r"(INFO: rcu[_a-z]* self-detected stall on CPU)",
    r"(INFO: rcu[_a-z]* detected stalls on CPUs/tasks:)",
    r"(INFO: rcu_tasks detected stalls on tasks:)",
    r"(BUG: unable to handle kernel)",
    r"(BUG: unable to handle page fault for address)",
    r"(BUG: kernel NULL pointer dereference, address)",
    r"(BUG: Bad page state in process)",
    r"(BUG: workqueue lockup - pool)",
    r"(BUG: workqueue leaked lock or atomic)",
    r"(BUG: scheduling while atomic)",
    r"(BUG: spinlock bad magic on CPU)",
    r"(BUG: spinlock lockup suspected on CPU)",
    r"(BUG: using smp_processor_id\(\) in preemptible)",
    r"(BUG: using __this_cpu_read\(\) in preemptible)",
    r"(BUG: sleeping function called from invalid context at \S+\.[ch]):",
    r"(BUG: lock held when returning to user space!)",
    r"(WARNING: kernel stack)",
    r"(PANIC: double fault)",
    r"(irq \d+: nobody cared)",
    r"(WARNING: workqueue cpumask)",
    r"(KASAN: null-ptr-deref in range \S+)",
    r"(kernel BUG at \S+\.[ch]):",
    r"(UBSAN: Undefined behaviour in \S+\.[ch]):",
    r"(Out of memory: Kill process) \d+ \(",
    r"(Out of memory and no killable processes)",
    r"(Writer stall state) \d+ ",
    r"(used greatest stack depth:)",
    r"(is leaving the kernel with locks still held!)",
    r"(is trying to release lock \(\S+\) at)",
    r"(page allocation failure: order:\S+ mode:\S+(?: nodemask=.*?mems_allowed=)?)",
    r"(IP-Config: Auto-configuration of network failed)",
)]

_CUT_PAIRS = [re.compile(p) for p in (
    r"(BUG: ).* (still has locks held)",
    r"(INFO: task ).* (blocked for more than \d+ seconds)",
    r"(BUG: Dentry ).* (still in use)",
)]

# x86 style "<what>: 0000 [#1]" heads: the flags after the die counter depend on the config.
_DIE_HEAD = re.compile(r"([a-z]+ general protection fault):|([a-zA-Z][\w ]*: [0-9a-f]{4} \[#[0-9]+\])")
# KASAN/KFENCE "<bug> in func+0x../0x..": lkp's pattern stops at the function (digit-free names).
_SAN_IN = re.compile(r"(BUG: (?:KASAN|KFENCE): [a-z -]+ in [a-z_]+)\+0x")
_WARNING_AT = re.compile(r"WARNING:.* at .* ([a-zA-Z.0-9_]+\+0x)")
_CALLTRACE = re.compile(r"^(?:backtrace|calltrace):([a-zA-Z0-9_]+)")
_LOCKDEP = re.compile(r"((?:WARNING|INFO): possible (?:circular|recursive) locking \S+ detected) (.*)")


def _bisect_pattern(line: str) -> str:
    """lkp's `oops_to_bisect_pattern`: the words of the line up to the first function+0x."""
    patterns: list[str] = []
    for w in line.split():
        m = re.search(r"([a-zA-Z0-9_]+)\.(?:isra|constprop|part)\.[0-9]+\+0x", w)
        if m:
            patterns.append(m.group(1))
            break
        m = re.search(r"([a-zA-Z0-9_]+\+0x)", w) or re.search(r"([a-zA-Z0-9_]+=)", w)
        if m:
            patterns.append(m.group(1))
            break
        if re.search(r"[^a-zA-Z/:.()!_-]", w):
            if not patterns or patterns[-1] != ".*":
                patterns.append(".*")
        else:
            patterns.append(w)
    while patterns and patterns[0] == ".*":
        patterns.pop(0)
    if patterns and patterns[-1] == ".*":
        patterns.pop()
    return " ".join(patterns)


def common_error_id(line: str) -> str:
    """lkp's `common_error_id`: numbers to `#`, spaces squeezed to `_`, trailing punctuation cut."""
    line = line.rstrip("\n")
    line = re.sub(r"\b3\.[0-9]+[-a-z0-9.]+", "#", line)
    line = re.sub(r"\b[1-9][0-9]-[A-Z][a-z]+-[0-9]{4}\b", "#", line)
    line = re.sub(r"\b0x[0-9a-f]+\b", "#", line)
    line = re.sub(r"\b[a-f0-9]{40}\b", "#", line)
    line = re.sub(r"\b[0-9][0-9.]*", "#", line)
    line = re.sub(r"#x\b", "0x", line)
    line = re.sub(r'[\\"$]', "~", line)
    line = re.sub(r"\s+", " ", line)
    line = re.sub(r"([^a-zA-Z0-9]) ", r"\1", line)
    line = re.sub(r" ([^a-zA-Z])", r"\1", line)
    line = line.lstrip(" ")
    line = re.sub(r"^-", "", line)
    line = line.replace(" ", "_")
    line = re.sub(r"[-_.,;:#!\[(]+$", "", line)
    return line


def analyze_error_id(line: str) -> tuple[str, str]:
    """(stat key, bug-to-bisect pattern) of one selected line."""
    line = re.sub(r"^(?:kern  |user  |daemon):......: ", "", line)
    line = re.sub(r"^[^a-zA-Z]+", "", line)
    bisect = None
    m = _CALLTRACE.match(line)
    if m:
        return common_error_id(line), m.group(1) + "+0x"
    for rx in _CUT_HEADS:
        m = rx.search(line)
        if m:
            line = bisect = m.group(1)
            break
    else:
        for rx in _CUT_PAIRS:
            m = rx.search(line)
            if m:
                line = m.group(1) + m.group(2)
                bisect = m.group(2)
                break
        else:
            m = _WARNING_AT.search(line)
            if m:
                bisect = "WARNING:.* at .* " + _SUFFIX.sub("", m.group(1))
                line = "WARNING: " + re.search(r"(at .*)", line).group(1)
            elif (m := _SAN_IN.search(line)):
                line = bisect = m.group(1)
            elif (m := _DIE_HEAD.match(line)):
                line = m.group(1) or m.group(2)
                bisect = _bisect_pattern(line)
            else:
                bisect = _bisect_pattern(line)

    error_id = re.sub(r"^[^a-zA-Z]+", "", line)
    error_id = re.sub(r" \]$", "", error_id)
    error_id = re.sub(r" \(Tainted: [^)]*\)", "", error_id)
    error_id = _SUFFIX.sub("", error_id)
    error_id = re.sub(r"/kbuild/src/[^/]+/", "", error_id)
    error_id = _DEVICE.sub(r"\1#", error_id)
    error_id = re.sub(r"\b[0-9a-f]{8}\b", "#", error_id)
    error_id = re.sub(r"\b[0-9a-f]{16}\b", "#", error_id)
    error_id = re.sub(r"(=)[0-9a-f]+\b", r"\1#", error_id)
    error_id = re.sub(r"[+/]0x[0-9a-f]+\b", "", error_id)
    error_id = re.sub(r"[+/][0-9a-f]+\b", "", error_id)
    error_id = common_error_id(error_id)
    error_id = re.sub(r"([a-z]:)[0-9]+\b", r"\1", error_id)
    error_id = re.sub(r"#:\[<#>\]\[<#>\]", "", error_id)
    error_id = re.sub(r"\b(RIP|EIP|PC|NIP|LR|pc|lr):#:", r"\1:", error_id)
    return error_id, bisect
