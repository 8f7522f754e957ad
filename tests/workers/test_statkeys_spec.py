"""Rules of the robot's stat-key spec that no lkp fixture exercises, one synthetic case each (short
made-up lines in the kernel's real shapes). Each test names the spec section it pins."""

from __future__ import annotations

import gzip
import json
import lzma

from workers.cli import main
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


# --- §A.1 input -----------------------------------------------------------------------------

def test_xz_and_gz_logs_are_decompressed_first(tmp_path, capsys):
    (tmp_path / "kmsg").mkdir()
    (tmp_path / "dmesg.xz").write_bytes(lzma.compress(TS.encode() + b"BUG: thing went wrong\n"))
    (tmp_path / "kmsg" / "1.gz").write_bytes(gzip.compress(b"<3>[    1.000000] some error happened\n"))
    (tmp_path / "bad.xz").write_bytes(b"not xz at all")
    paths = [str(tmp_path / "dmesg.xz"), str(tmp_path / "kmsg" / "1.gz"), str(tmp_path / "bad.xz")]
    assert main(["parse", "--format", "jsonl", *paths]) == 1
    out = capsys.readouterr()
    objs = [json.loads(line) for line in out.out.splitlines()]
    assert [(o["stat_source"], o["stat_keys"]) for o in objs] == [
        ("dmesg", ["boot_failures", "BUG:thing_went_wrong"]), ("kmsg", ["some_error_happened"])]
    assert "bad.xz: not a valid xz file" in out.err
