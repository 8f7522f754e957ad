"""The 0-day robot's (lkp-tests) stat keys of a console log: `BUG:KASAN:...`, `RIP:fn`, `boot_failures`.

Public API: `stat_keys(text) -> (keys, source)`; keys have no `dmesg.`/`kmsg.` prefix, in order
of first appearance; source is "kmsg" for /dev/kmsg dumps, else "dmesg".

lkp runs two parsers: `dmesg/parse` on the serial console (oops heads, RIP, call-trace roots,
plus `boot_failures` when anything is found) and `kmsg/parse` on the /dev/kmsg dump (error-level
printk lines, segfaults, sanitizer reports). A log with crash heads is keyed like a console log;
one without is keyed like a kmsg dump, which is what each parser would report for it.
"""

from __future__ import annotations

from workers.statkeys.dmesg import crash_keys
from workers.statkeys.kmsg import is_kmsg, kmsg_keys, record_level
from workers.statkeys.lines import Log


def stat_keys(text: str) -> tuple[list[str], str]:
    """(keys without prefix, source "dmesg" or "kmsg") for the whole log text."""
    try:
        log = Log(text)
        kmsg = is_kmsg(log.lines)
        console = [record_level(line)[1] for line in log.lines] if kmsg else None
        keys = list(dict.fromkeys(k for k in crash_keys(log, console) if k))
        if keys:
            return ["boot_failures", *keys], "dmesg"
        keys = list(dict.fromkeys(k for k in kmsg_keys(log) if k))
        return keys, "kmsg" if kmsg or keys else "dmesg"
    except Exception:  # noqa: BLE001 - a log must never make the parser fail
        return [], "dmesg"
