"""The robot's stat keys on what the spec does not spell out: huge and arbitrary input, porting
pitfalls (§11), then the lkp fixtures in ../shared (the robot's own keys for real logs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workers.test_statkeys import LOCKDEP, TS, frame
from workers.statkeys import stat_keys, stat_keys_strict

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
LKP = SHARED / "corpus" / "lkp"


# --- robustness ---------------------------------------------------------------------------

def test_huge_line_and_many_frames_give_a_result():
    text = "BUG: " + "a" * 1_000_000 + "+0x1/0x2\n" + "[ 1.0]  [<ffffffff81000000>] f+0x1/0x2\n" * 100_000
    got, source = stat_keys_strict(text)
    assert source == "dmesg" and got[:1] == ["boot_failures"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes):
    got, source = stat_keys_strict(data.decode("utf-8", "replace"))
    assert source in ("dmesg", "kmsg") and all(isinstance(k, str) and k for k in got)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 600), st.integers(0, 600), st.text(max_size=50))
def test_mutated_crash_log_never_raises(cut: int, insert_at: int, junk: str):
    text = "".join(TS + line + "\n" for line in (*LOCKDEP, frame("a"), frame("kthread"), "Oops: 0000 [#1] SMP"))
    text = text[:cut] + text[cut + 7:]
    text = text[:insert_at] + junk + text[insert_at:]
    got, _ = stat_keys_strict(text)
    assert all(isinstance(k, str) and k for k in got)


def test_a_port_bug_is_logged_and_gives_no_keys(monkeypatch, caplog):
    import workers.statkeys as statkeys

    def broken(*_args: object) -> list[str]:
        raise ValueError("port bug")
    monkeypatch.setattr(statkeys, "read", broken)
    assert stat_keys("[ 1.0] Kernel panic - not syncing: Fatal exception\n") == ([], "dmesg")
    assert "port bug" in caplog.text


def test_lines_with_finds_each_line_holding_any_word_once():
    from workers.statkeys.lines import lines_with

    text = "a BUG: x\nnothing\nWARNING: and BUG twice\n\nBUG"
    assert lines_with(text, ("BUG", "WARNING:")) == [0, 2, 4]
    assert lines_with(text, ()) == []
    assert lines_with("ok\n\udc80 BUG: x\nBUG", ("BUG",)) == [1, 2]  # lone surrogates: per-word search


def test_line_flags_see_overlapping_words():
    from workers.statkeys.lines import line_flags

    assert line_flags("x\nBUG: KASAN: y\nz+0x", ("BUG: ", "BUG: K", "+0x"), (1, 2, 4)) == {1: 3, 2: 4}


# --- the 0-day robot's own fixtures -------------------------------------------------------

def _expected(yaml_path: Path) -> set[str]:
    want = set()
    for line in yaml_path.read_text(errors="replace").splitlines():
        if not line.strip() or line.startswith(("message:", "pattern:", "timestamp:", "#")):
            continue
        k, sep, _ = line.rpartition(": ")
        if sep:
            want.add(k)
    return want


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["dmesg", "kmsg", "syzkaller"])
def test_lkp_fixtures_exact(kind: str):
    folder = LKP / kind
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (shared corpora are not in the repository)")
    pairs = [(p.with_suffix(""), p) for p in sorted(folder.glob("*.yaml")) if os.path.exists(p.with_suffix(""))]
    misses = [log.name for log, y in pairs
              if set(stat_keys(log.read_bytes().decode("utf-8", "replace"), str(log))[0]) != _expected(y)]
    assert pairs and len(misses) / len(pairs) <= 0.05, f"{len(misses)}/{len(pairs)} differ: {misses[:10]}"
