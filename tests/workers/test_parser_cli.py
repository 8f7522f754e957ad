"""`triage parse`: text for people, JSON lines for the scoring scripts and the app."""

import json
from pathlib import Path

from workers.cli import main

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def test_jsonl_prints_one_object_per_log_in_order(capsys):
    paths = [str(LOGS / "x86_64-WARNING.log"), str(LOGS / "ppc64-BUG.log")]
    assert main(["parse", "--format", "jsonl", *paths]) == 0
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["path"] for o in objs] == paths
    assert objs[0]["reports"][0]["title"] == "WARNING in lkdtm_WARNING"
    assert {"stat_keys", "reports"} <= set(objs[0])
    assert {"title", "alt_titles", "kind", "corrupted", "frames"} <= set(objs[1]["reports"][0])


def test_text_names_each_report_and_its_lines(capsys):
    assert main(["parse", str(LOGS / "x86_64-BUG.log")]) == 0
    out = capsys.readouterr().out
    assert "#0 kernel BUG in lkdtm_BUG" in out and "(lines 151-" in out  # from the "cut here" line


def test_missing_file_is_an_error_not_a_crash(capsys, tmp_path):
    assert main(["parse", str(tmp_path / "nope.log")]) == 1
    assert "nope.log" in capsys.readouterr().err
