"""What the charts are given: one bar per commit, named so that a reader tells the trees apart."""

from __future__ import annotations

from triage.charts import fail_rate_per_commit


def row(commit: str, tree: str, rate: float = 50.0) -> dict:
    return {"commit": commit, "tree": tree, "branch": "master", "rate": rate, "fail": 1, "runs": 2}


def test_bars_of_one_tree_are_named_by_commit():
    chart = fail_rate_per_commit([row("b" * 40, "next"), row("a" * 40, "next")])
    assert chart["labels"] == ["a" * 12, "b" * 12]  # oldest left
    assert chart["datasets"][0]["fail_runs"] == ["1:2", "1:2"]


def test_the_same_commit_on_two_trees_is_two_bars_that_say_which_tree():
    chart = fail_rate_per_commit([row("c" * 40, "stable"), row("c" * 40, "next")])
    assert chart["labels"] == ["c" * 12 + " next/master", "c" * 12 + " stable/master"]
