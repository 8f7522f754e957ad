"""Rules of the robot's stat-key spec that no lkp fixture exercises, one synthetic case each (short
made-up lines in the kernel's real shapes). Each test names the spec section it pins."""

from __future__ import annotations

from workers.statkeys import stat_keys_strict

TS = "[   12.345678] "


def kmsg(*lines: str) -> list[str]:
    """kmsg-mode keys of the lines (each a whole kmsg record, prefix included)."""
    return stat_keys_strict("".join(line + "\n" for line in lines), "kmsg")[0]


def dmesg(*lines: str, ts: str = TS) -> list[str]:
    """dmesg-mode keys (without `boot_failures`) of the lines, each with a timestamp."""
    got = stat_keys_strict("".join(ts + line + "\n" for line in lines), "dmesg")[0]
    assert not got or got[0] == "boot_failures"
    return got[1:]


# --- §8 dump-stat ---------------------------------------------------------------------------

def test_ids_that_read_as_message_or_pattern_lines_are_dropped():
    # §8-4: dump-stat drops every `message:`/`pattern:` key, the id's own included.
    assert kmsg("<3>[    1.000000] message: this went badly",
                "<3>[    1.000000] pattern: also badly wrong",
                "<3>[    1.000000] patterns: stay here") == ["patterns:stay_here"]
