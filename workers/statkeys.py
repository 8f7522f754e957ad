"""The 0-day robot's stat keys (`BUG:KASAN:...`, `boot_failures`) of a console log.

PLACEHOLDER: returns no keys; the real implementation replaces this module (issue: Parser).
"""

from __future__ import annotations


def stat_keys(text: str) -> tuple[list[str], str]:
    """(keys without prefix, source "dmesg" or "kmsg") for the whole log text."""
    return [], "dmesg"
