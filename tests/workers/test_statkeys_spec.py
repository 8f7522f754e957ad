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


# --- common console shapes no fixture holds ----------------------------------------------------

def test_a_doubled_cr_keeps_end_anchored_heads_from_matching():
    # §A.2: `\r\r\n` leaves a trailing CR; END (§0.2-4) is not before it, so P81 and P95 fail, while
    # heads captured to the end of the line lose the CR in C1.
    log = (f"{TS}WARNING: bad unlock balance detected!\r\r\n"
           f"{TS}include/linux/rcupdate.h:123 suspicious rcu_dereference_check() usage!\r\r\n"
           f"{TS}Kernel panic - not syncing: Fatal exception\r\r\n")
    assert stat_keys_strict(log, "dmesg")[0] == ["boot_failures", "Kernel_panic-not_syncing:Fatal_exception"]


def test_file_line_bang_heads_with_and_without_caller_id():
    want = ["include/linux/rcupdate.h:#suspicious_rcu_dereference_check()usage"]  # P95
    assert dmesg("include/linux/rcupdate.h:123 suspicious rcu_dereference_check() usage!") == want
    assert dmesg("include/linux/rcupdate.h:123 suspicious rcu_dereference_check() usage!",
                 ts="[   12.345678][    T1] ") == want


def test_doubled_oops_header_of_newer_kernels():
    # P55 starts at the first `Oops`, S21 finds `Oops: 0000 [#1] ` inside it.
    assert dmesg("Oops: Oops: 0000 [#1] PREEMPT SMP") == ["Oops"]
    assert dmesg("Oops: 0000 [#1] PREEMPT SMP", ts="[   12.345678][    T1] ") == ["Oops:#[##]"]  # P93


def test_a_throttle_line_behind_a_prefix_still_aborts():
    # §5-3: P19 selects it wherever `CPUn: ` starts; the abort drops every key of the log.
    assert dmesg("BUG: foo bar", "mce: CPU1: Core temperature above threshold, cpu clock throttled (total events = 1)") == []


def test_kmsg_error_lines_of_common_drivers():
    assert kmsg("kern  :err   : [    5.8] usb 1-1: device descriptor read/64, error -71",  # N13 eats /64
                "kern  :err   : [    5.3] i915 0000:00:02.0: [drm] *ERROR* Failed to get ACT after 3000ms, last status: 00",
                "kern  :err   : [    6.0] x86/PAT: bash:1234 map pfn expected mapping type uncached-minus for "
                "[mem 0xfed00000-0xfed00fff], got write-back",
                "kern  :err   : [    6.1] kvm_intel: VMX not supported by CPU 0") == [  # denylisted
        "usb#-#:device_descriptor_read,error",
        "i915#:#:#:[drm]*ERROR*Failed_to_get_ACT_after#ms,last_status",
        "x86/PAT:bash:#map_pfn_expected_mapping_type_uncached-minus_for[mem#-#],got_write-back"]
