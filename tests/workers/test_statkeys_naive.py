"""The port's fast paths (anchor words, one Aho-Corasick pass, frames found by looking back, per-log
fix-ups) against a naive line-by-line reading of the spec's stages §2-§5 (§4.2 in kmsg mode), on
seeded random mixes of synthetic lines in the kernel's real shapes. Key derivation (§6) and the emit
loop (§5) are shared: test_statkeys_derive.py pins them rule by rule."""

from __future__ import annotations

import random
import re

import pytest

from workers.statkeys import stat_keys_strict
from workers.statkeys.emit import Aborted, emit
from workers.statkeys.lists import KMSG_DENYLIST
from workers.statkeys.reading import INVALID, decode
from workers.statkeys.tables import CALLTRACE, CALLTRACE_IGNORE, FRAME_NAME, OOM_FLAG, OOPS, OOPS_IGNORE

_SPLIT = re.compile(r"^(.+)(\[ *[0-9]{1,6}\.[0-9]{6}\] .*)$")  # §A.3-4, greedy: the last inner `[ts] `
_OWN_PREFIX = re.compile(r"^(?:<[0-9]>|(?:kern  |user  |daemon):.{6}: )")
_LOCKDEP = ("possible recursive locking detected", "possible circular locking dependency detected")
_NOT_KEYS = ("#", "message:", "pattern:", "timestamp:")


def _chomp(s: str) -> str:
    return s[:-2] if s.endswith("\r\n") else s[:-1] if s.endswith(("\n", "\r")) else s


def naive_lines(data: bytes) -> list[str]:
    """§A.2-A.3, one line at a time."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    out = []
    for part in parts:
        line = _chomp(decode(part))
        line = re.sub(r"/kbuild/src/[^/]+/", "", line, count=1)
        line = re.sub(r"/tmp/kbuild/src/[^/]+/", "", line, count=1)
        line = re.sub(r"\.(?:isra|constprop|part)\.[0-9]+\+0x", "+0x", line, count=1)
        m = None if _OWN_PREFIX.match(line) else _SPLIT.match(line)
        out += [m.group(1), m.group(2)] if m else [line]
    return out


def _lockdep(line: str, lines: list[str]) -> str | None:
    """§3.3 (no enrichment for a line the robot's shell lookup mangles, as the port chooses)."""
    if line.endswith("\r") or any(c in line for c in '"$`\\'):
        return None
    kept = [a for i, other in enumerate(lines) if other == line for a in lines[i:i + 31]
            if re.search(r"trying to acquire lock|already holding lock|at: ", a)][:4]
    if not kept:
        return None
    cleaned = []
    for k in kept:
        k = re.sub(r"^.* at:", "at:", k)
        cleaned.append(re.sub(r"^.*\] ", "", k) if k.startswith("[") else k)
    return line + " " + " ".join(cleaned)


def _ids(table: dict[str, str]) -> list[str]:
    try:
        return [i for i in emit(table) if not i.startswith(_NOT_KEYS)]
    except Aborted:
        return []


def naive_dmesg(data: bytes) -> list[str]:
    """§3 with an explicit previous-frame state, then §5 and `boot_failures` (§7.2)."""
    lines = naive_lines(data)
    table: dict[str, str] = {}
    state: dict[str, object] = {"oom": False, "previous": None}

    def calltrace(frame: object) -> None:  # §3.5
        if not isinstance(frame, str) or state["oom"] or CALLTRACE_IGNORE.search(frame):
            return
        m = FRAME_NAME.search(frame)
        if m:
            table.setdefault("calltrace:" + m.group(1), frame)

    def classify(line: str) -> None:  # §3.4
        m = OOPS.search(line)
        if m:
            table.setdefault(m.group(0), line)
            state["oom"] = state["oom"] or bool(OOM_FLAG.search(line))
        elif "+0x" in line and " ? " not in line:
            if CALLTRACE.search(line):
                if "SyS_" not in line:
                    calltrace(state["previous"])
                calltrace(line)
                state["previous"] = None
            else:
                state["previous"] = line

    for line in lines:
        if INVALID in line or not ("+0x" in line or OOPS.search(line)) or OOPS_IGNORE.search(line):
            continue  # §3.1, §3.2 (no NUL in these logs)
        classify(line)
        if any(h in line for h in _LOCKDEP):
            enriched = _lockdep(line, lines)
            if enriched is not None:
                classify(enriched)
    ids = _ids(table)
    return ["boot_failures", *ids] if ids else []


def naive_kmsg(data: bytes) -> list[str]:
    """§4.2 items 1-4, then §5."""
    lines = naive_lines(data)
    extracted = []
    for line in lines:
        if "segfault at" in line or re.match(r"<[0-3]>|kern  :(?:err   |crit  |alert |emerg ): ", line):
            line = re.sub(r"\x1b\[(?:[0-9;]+m|m|K)", "", line)
            if not OOPS.search(line) and not any(e in line for e in KMSG_DENYLIST):
                extracted.append(line)
    plain = [line for line in lines if INVALID not in line]
    extracted += [line for line in plain if "Kernel tests: Boot OK" in line]
    extracted += ["sanitizer." + re.search(r"[^ ]* runtime error:.*", line).group(0)
                  for line in plain if " runtime error:" in line]
    items = []
    for line in plain:
        for m in re.finditer(r"(Direct|Indirect) leak of .*allocated from:|#[0-5] 0x[0-9a-z]{12} in .*", line):
            if m.group(1):
                items.append(f"\nsanitizer.{m.group(1).lower()}_leak")
            else:
                words = m.group(0).split(" in ", 1)[1].split()
                items.append(words[0] if words else "")
    if items:
        extracted += [p[:-1] if p.endswith("/") else p for p in "/".join(items).split("\n")]
    table: dict[str, str] = {}
    for line in "\n".join(extracted).replace(INVALID, "_").split("\n"):
        table.setdefault(line, line)
    return _ids(table)


_OLD = " [<ffffffff81234567>] "
DMESG_POOL = (
    "[    1.000000] BUG: scheduling while atomic: swapper/0/0x00000002",
    "[    1.100000][    T1] BUG: KASAN: slab-out-of-bounds in foo_read+0x12/0x34",
    "[    1.200000] BUG: KASAN: use-after-free in kasan_thing+0x1/0x2 [kasan_test]",
    "[    1.300000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo_warn+0x1/0x2",
    "[    1.400000] WARNING: CPU: 1 PID: 7 at /kbuild/src/x/mm/bar.c:9 bar.isra.2+0x1/0x2 [i915]",
    "[    1.500000] WARNING: possible circular locking dependency detected",
    "[    1.510000] kworker/0:1/12 is trying to acquire lock:",
    "[    1.520000] ffff888100000000 (&foo->lock){+.+.}-{2:2}, at: foo_lock+0x12/0x34",
    "[    1.530000] but task is already holding lock:",
    "[    1.540000] ffff888100000000 (&bar->lock){+.+.}-{2:2}, at: bar_lock+0x12/0x34",
    "[    1.600000] RIP: 0010:lock_release+0x179/0x3b7",
    "[    1.700000] Oops: 0002 [#1] SMP PTI",
    "Oops: 0000 [#1] SMP PTI",
    "[    1.800000] general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1]",
    "[    1.900000][    C1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/u258:3:1234]",
    "[    2.000000] Kernel panic - not syncing: Fatal exception",
    "[    2.100000] ---[ end Kernel panic - not syncing: Fatal exception ]---",
    "[    2.200000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
    "[    2.300000] foo invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0",
    "[    2.400000] trinity-c1 invoked oom-killer: gfp_mask=0x1, order=0",
    "[    2.500000] Out of memory: Killed process 123 (foo)",
    "[    2.600000] include/linux/rcupdate.h:123 suspicious rcu_dereference_check() usage!",
    "[    2.700000] WARNING: bad unlock balance detected!\r",
    "[    2.800000] BUG: color \x1b[31mred\x1b[0m thing",
    "[    2.900000] Oops: 0000 [#1] SMP 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",
    "[    3.000000] mce: CPU1: Core temperature above threshold, cpu clock throttled (total events = 1)",
    "junk from a task[    3.100000] BUG: unable to handle page fault for address: ffffffffc0000000",
    "[    3.200000] kernel BUG at mm/slub.c:123!",
    "[    3.300000] BUG: bad \udcff\udcfe utf8 here",
    "[    3.400000] UBSAN: shift-out-of-bounds in drivers/of/unittest.c:1893:36",
    _OLD + "dump_stack+0x19/0x1b", _OLD + "my_fn+0x4d/0x5b", _OLD + "? other_fn+0x4d/0x5b",
    _OLD + "my_fn.isra.3+0x4d/0x5b", _OLD + "process_one_work+0x4d/0x5b", _OLD + "worker_thread+0x4d/0x5b",
    _OLD + "kthread+0x4d/0x5b", _OLD + "SyS_read+0x4d/0x5b", _OLD + "do_one_initcall+0x4d/0x5b",
    _OLD + "? warn_alloc_failed+0x4d/0x5b", "[    3.500000]  modern_fn+0x1/0x2", "[    3.600000]  ? modern_fn+0x1/0x2",
    "[    3.700000] random: crng init done", "",
)
KMSG_POOL = (
    "kern  :err   : [    1.000000] ata1.00: failed command: READ DMA",
    "kern  :err   : [    1.100000] i8042: No controller found",
    "kern  :alert : [    1.200000] BUG: unable to handle page fault for address: ffff",
    "kern  :warn  : [    1.300000] this is only a warning: foo",
    "kern  :emerg : [    1.400000] some emergency 0x1234 happened on cpu 3",
    "kern  :crit  : [    1.450000] \x1b[31mcoloured\x1b[0m failure of things",
    "<3>[    1.500000] old style level three error message",
    "<3>[    1.510000][    T1] caller id error message here",
    "<6>[    1.600000] only info",
    "kern  :err   : [    1.700000] nvme nvme0: I/O 123 QID 4 timeout, aborting",
    "kern  :err   : [    1.800000] usb 1-1: device descriptor read/64, error -71",
    "kern  :err   : [    1.850000] bad \udcff byte in an error",
    "user  :info  : [    1.900000] foo[123]: segfault at 0 ip 00007f568fec1ca6 sp 00007f54c1bf9d80 error 4",
    "user  :err   : [    2.000000] hello.c:12:5: runtime error: signed integer overflow",
    "user  :err   : [    2.100000] Direct leak of 7 byte(s) in 1 object(s) allocated from:",
    "user  :err   : [    2.110000]     #0 0x7f1234567890 in malloc (/lib/libasan.so+0x1)",
    "user  :err   : [    2.120000]     #1 0x561234567890 in foo /src/a.c:3",
    "user  :err   : [    2.130000]     #7 0x561234567890 in deep /src/a.c:3",
    "user  :err   : [    2.140000] Indirect leak of 9 byte(s) in 1 object(s) allocated from:",
    "user  :notice: [    2.200000] LKP: stdout: 239: Kernel tests: Boot OK!",
    "kern  :err   : [    2.300000] abcdef12: something failed badly",
    "kern  :err   : [    2.400000] message: not a key at all",
    "kern  :crit  : [    2.500000] mce: CPU1: Core temperature above threshold, cpu clock throttled",
    "kern  :err   : [    2.600000] dev 0: 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",
    "",
)


def _logs(pool: tuple[str, ...], seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    logs = []
    for _ in range(count):
        lines = [rng.choice(pool) for _ in range(rng.randint(1, 30))]
        text = "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")
        logs.append(text.encode("utf-8", "surrogateescape"))
    return logs


@pytest.mark.parametrize("seed", range(4))
def test_dmesg_mode_agrees_with_a_naive_reading(seed):
    for data in _logs(DMESG_POOL, seed, 150):
        assert stat_keys_strict(data, "dmesg")[0] == naive_dmesg(data), data


@pytest.mark.parametrize("seed", range(4))
def test_kmsg_mode_agrees_with_a_naive_reading(seed):
    for data in _logs(KMSG_POOL, seed, 150):
        assert stat_keys_strict(data, "kmsg")[0] == naive_kmsg(data), data


def test_the_pools_reach_keys_calltraces_and_the_abort():
    logs = _logs(DMESG_POOL, 0, 150)
    keys = {k for data in logs for k in naive_dmesg(data)}
    assert {"calltrace:my_fn", "calltrace:SyS_read", "Oops:#[##]"} <= keys
    assert any(not naive_dmesg(data) and b"throttled" in data for data in logs)
    kmsg_keys = {k for data in _logs(KMSG_POOL, 0, 150) for k in naive_kmsg(data)}
    assert any(k.startswith("sanitizer.direct_leak/") for k in kmsg_keys) and "segfault_at_ip_sp_error" in kmsg_keys
