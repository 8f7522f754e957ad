"""The syzkaller dev corpus in ../shared: detection and syzbot titles (skipped when absent)."""

import base64
import json
from pathlib import Path

import pytest

from workers.parser import parse_log

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "syzkaller" / "dev.jsonl"

pytestmark = pytest.mark.corpus


def rows():
    if not CORPUS.exists():
        pytest.skip(f"no syzkaller corpus at {CORPUS}")
    return [json.loads(line) for line in CORPUS.open()]


def log_bytes(row: dict) -> bytes:
    return base64.b64decode(row["log_b64"]) if row.get("log_b64") else row["log"].encode()


def test_every_crash_is_found_and_clean_logs_are_left_alone():
    for row in rows():
        reports = parse_log(log_bytes(row)).reports
        assert bool(reports) == bool(row["title"]), row["name"]


def test_at_least_97_percent_of_titles_and_corrupted_flags_are_exact():
    data = [r for r in rows() if r["title"]]
    firsts = [parse_log(log_bytes(r)).reports[0] for r in data]
    exact = sum(1 for r, f in zip(data, firsts, strict=True) if f.title == r["title"])
    flags = sum(1 for r, f in zip(data, firsts, strict=True) if f.corrupted == bool(r.get("corrupted")))
    assert exact / len(data) >= 0.97, f"{exact}/{len(data)}"
    assert flags / len(data) >= 0.97, f"{flags}/{len(data)}"


def test_crash_types_follow_the_title_mapping():
    data = [r for r in rows() if r["title"] and r.get("type")]
    same = sum(1 for r in data if parse_log(log_bytes(r)).reports[0].type == r["type"])
    assert same / len(data) >= 0.97, f"{same}/{len(data)}"
