"""Which console lines are crash heads for the 0-day robot (lkp-tests' `etc/oops-pattern`).

lkp matches a list of specific report heads, not any line with `BUG:` or `WARNING:` (so
`ODEBUG: ...`, `WARNING: the mand mount option...` or `[ BUG: Invalid wait context ]` give no
key). The patterns are searched as one alternation and the key is built from the text starting
where the leftmost one matches (so `watchdog: BUG: soft lockup` gives `BUG:soft_lockup...`).
"""

from __future__ import annotations

import re

# Allowed before a head: nothing, a timestamp / caller id, a `[ ` lockdep bracket, or a
# `subsystem: ` style prefix.
_BUG_HEADS = (
    r"unable to handle kernel", r"unable to handle page fault", r"kernel NULL pointer dereference",
    r"KASAN: ", r"KFENCE: ", r"KMSAN: ", r"KCSAN: ", r"soft lockup", r"workqueue lockup",
    r"workqueue leaked lock", r"scheduling while atomic", r"sleeping function called from invalid context",
    r"spinlock (?:bad magic|lockup suspected|already unlocked|recursion|wrong owner|wrong CPU|cpu recursion)",
    r"rwlock (?:bad magic|lockup suspected|recursion|wrong owner|wrong CPU|cpu recursion)",
    r"Bad page state", r"Bad page map", r"Bad page cache", r"Bad rss-counter state",
    r"using (?:smp_processor_id|__this_cpu_\w+|this_cpu_\w+)\(\) in preemptible",
    r"\S* ?stack guard page was hit", r"Dentry \S+ +still in use", r"lock held when returning to user space",
    r"\S+ still has locks held", r"kernel (?:early-boot |boot |test )?(?:hang|crashed|timeout)",
    r"kernel reboot-without-warning", r"non-zero pgtables_bytes", r"non-zero nr_p[mt][de]s",
    r"MAX_LOCKDEP_\w+ too low", r"[Kk]ernel NULL pointer dereference", r"Unable to handle kernel",
    r"failure at \S+:\d+", r"key \S+ has not been registered", r"looking up invalid subclass",
    r"held lock freed", r"Out of memory", r"corrupted list", r"sleeping function",
)

_WARNING_HEADS = (
    r"(?:CPU: \d+ PID: -?\d+ )?at ", r"possible circular locking dependency",
    r"possible recursive locking", r"inconsistent lock state", r"suspicious RCU usage",
    r"bad unlock balance detected", r"held lock freed", r"Nested lock was not taken",
    r"[\w-]+-safe -> [\w-]+-unsafe lock order detected", r"lock held when returning to user space",
    r"possible irq lock inversion dependency", r"kernel stack", r"stack recursion",
    r"stack going in the wrong direction", r"workqueue cpumask", r"\S+ USB support is incomplete",
    r"at \S+:\d+ \S+\+0x",
)

_INFO_HEADS = (
    r"rcu[_a-z]* self-detected stall on CPU", r"rcu[_a-z]* detected stalls on CPUs/tasks",
    r"rcu_tasks(?:_\w+)? detected stalls on tasks", r"task \S+ blocked for more than",
    r"trying to register non-static key", r"possible circular locking dependency",
    r"possible recursive locking", r"[\w-]+-safe -> [\w-]+-unsafe lock order detected",
    r"suspicious RCU usage", r"Freed in ", r"Object 0x[0-9a-f]+ @offset=", r"Slab 0x[0-9a-f]+ objects=",
    r"possible irq lock inversion dependency",
)

OOPS_PATTERNS = (
    r"general protection fault:",
    r"canonical address",
    r"Oops: ",
    r"(?<![^\] :])BUG: (?:" + "|".join(_BUG_HEADS) + ")",
    r"^BUG: memory leak",
    r"(?<![^\] ])BUG [\w-]+ \(",
    r"BUG ASSERT FAILED",  # Trusty's `DEBUG ASSERT FAILED at`: lkp keys it from the `BUG`
    r"kernel BUG at ",
    r"Kernel BUG at ",
    r"Kernel panic - not syncing",
    r"invalid opcode:",
    r"divide error:",
    r"divide_error:",
    r"stack segment:",
    r"stack guard page:",
    r"double fault:",
    r"PANIC: double fault",
    r"(?<![^\] :])WARNING: (?:" + "|".join(_WARNING_HEADS) + ")",
    r"(?<![^\] :])INFO: (?:" + "|".join(_INFO_HEADS) + ")",
    r"RIP: [0-9a-f]{4}:(?:\[<[0-9a-f]+>\] +\[<[0-9a-f]+>\] )?[a-zA-Z_.][\w.]*\+0x",
    r"EIP: (?:\[<[0-9a-f]+>\] )?[a-zA-Z_.][\w.]*\+0x",
    r"UBSAN: ",
    r"KASAN: null-ptr-deref in range",
    r"KASAN: (?:maybe|probably) [\w-]+ in range",
    r"irq \d+: nobody cared",
    r"page allocation failure: order:",
    r"Mem-Info:",
    r"is trying to release lock ",
    r"is freeing memory \S+ with a lock still held there!",
    r"is leaving the kernel with locks still held!",
    r"inconsistent \{[^{}]*\} -> \{[^{}]*\} usage\.",
    r"IP-Config: Auto-configuration of network failed",
    r"Kernel stack is corrupted",
    r"Watchdog detected hard LOCKUP",
    r"Out of memory: Kill",
    r"Out of memory and no killable processes",
    r"Corrupted low memory at",
)

_OOPS_RE = re.compile("|".join(f"(?:{p})" for p in OOPS_PATTERNS))
# Any x86 die() head `<what>: <error code> [#<count>]` (int3, alignment check, Bad pagetable...);
# kept apart because it can start at any word: it is only tried on lines holding ` [#`.
_DIE_RE = re.compile(r"(?<![\w-])[A-Za-z][\w ]{0,40}: [0-9a-f]{4} \[#[0-9]+\]")


def find_head(line: str) -> re.Match[str] | None:
    """The leftmost report head of a line, or None."""
    m = _OOPS_RE.search(line)
    if " [#" in line:
        d = _DIE_RE.search(line)
        if d and (m is None or d.start() < m.start()):
            return d
    return m

# Words of which every line with a head holds at least one (searched with str.find first).
ANCHORS = ("BUG", "WARNING:", "INFO: ", "Oops: ", "fault", "canonical", "Kernel ", "opcode", "divide",
           "stack segment", "stack guard", "IP: ", "SAN: ", "nobody cared", "allocation failure",
           "Mem-Info", " lock", "inconsistent {", "IP-Config", "LOCKUP", "Out of memory", " [#",
           "Corrupted low memory", "is freeing memory")

# Allocation-failure / OOM heads: after one of these lkp keys no call-trace functions and not the
# Mem-Info that follows (it belongs to the same report).
OOM_RE = re.compile(r"page allocation failure|invoked oom-killer|Out of memory")
