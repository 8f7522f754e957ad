"""The 0-day robot's (lkp-tests) stat keys of a console log: `BUG:KASAN:...`, `RIP:fn`, `boot_failures`.

Public API: `stat_keys(text) -> (keys, source)`; keys have no `dmesg.`/`kmsg.` prefix, in order
of first appearance; source is "kmsg" for /dev/kmsg-record logs, else "dmesg".
"""

from __future__ import annotations

from workers.statkeys.dmesg import crash_keys, split_lines


def stat_keys(text: str) -> tuple[list[str], str]:
    """(keys without prefix, source "dmesg" or "kmsg") for the whole log text."""
    try:
        lines = split_lines(text)
        keys = list(dict.fromkeys(k for k in crash_keys(lines) if k))
    except Exception:  # noqa: BLE001 - a log must never make the parser fail
        keys = []
    if keys:
        keys.insert(0, "boot_failures")
    return keys, "dmesg"
