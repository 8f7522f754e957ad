"""Which console lines are crash heads for the 0-day robot (lkp-tests' `etc/oops-pattern`).

One alternation, searched on every line; the key is built from the text starting where the
leftmost pattern matches (so `watchdog: BUG: soft lockup` gives `BUG:soft_lockup...`).
"""

from __future__ import annotations

import re

OOPS_PATTERNS = (
    r"[a-z]+ general protection fault:",
    r"general protection fault:",
    r"canonical address",
    r"Oops: ",
    r"BUG[: ]",
    r"kernel BUG at ",
    r"Kernel panic - not syncing",
    r"invalid opcode:",
    r"divide error:",
    r"divide_error:",
    r"stack segment:",
    r"stack guard page:",
    r"double fault:",
    r"PANIC: double fault",
    r"int3: [0-9a-f]{4} \[#",
    r"WARNING:",
    r"INFO: ",
    r"(?:RIP|EIP): (?:[0-9a-f]{4}:)?(?:\[<[0-9a-f]+>\] +)*\[?<?[0-9a-f]*>?\]? *[a-zA-Z_.][\w.]*\+0x",
    r"(?:RIP|EIP): [a-zA-Z_.][\w.]*\+0x",
    r"UBSAN: ",
    r"KASAN: ",
    r"irq \d+: nobody cared",
    r"page allocation failure: order:",
    r"Mem-Info:",
    r"is trying to release lock ",
    r"is freeing memory .* with a lock still held there!",
    r"is leaving the kernel with locks still held!",
    r"inconsistent \{.*\} -> \{.*\} usage\.",
    r"IP-Config: Auto-configuration of network failed",
    r"Unable to handle kernel ",
    r"Kernel stack is corrupted",
    r"Watchdog detected hard LOCKUP",
    r"Out of memory: Kill",
    r"Out of memory and no killable processes",
)

OOPS_RE = re.compile("|".join(f"(?:{p})" for p in OOPS_PATTERNS))

# Lines that match a pattern above but are not failures (lkp's `etc/oops-pattern-ignore`).
IGNORE_RE = re.compile("|".join((
    r"INFO: lockdep is turned off",
    r"INFO: NMI handler .* took too long to run",
    r"INFO: Allocated in ",
    r"Code: .*",
)))

# Allocation-failure / OOM heads: after one of these lkp keys no call-trace functions and not the
# Mem-Info that follows (it belongs to the same report).
OOM_RE = re.compile(r"page allocation failure|invoked oom-killer|Out of memory")
