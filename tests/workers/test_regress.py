"""The regression engine: first bad / last good commits, states, updates instead of duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workers.compare import Run
from workers.regress import AFTER_FIX, CONFIRMED, NEW, SUSPECTED, CommitInfo, Fix, detect, series_order

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def commits(*names: str, parents: dict[str, str] | None = None) -> list[CommitInfo]:
    parents = parents or {}
    return [CommitInfo(n, T0 + timedelta(hours=i), parents.get(n, "")) for i, n in enumerate(names)]


def runs(commit: str, n: int, keys=(), failing: int | None = None) -> list[Run]:
    failing = n if failing is None else failing
    return [Run.of(f"{commit}-{i}", keys if i < failing else (), commit=commit) for i in range(n)]


def test_a_key_failing_on_a_commit_and_never_on_the_previous_one_is_suspected_with_one_run_each():
    found = detect(commits("a", "b"), runs("a", 1) + runs("b", 1, ["cluster:1"]))
    assert [(f.key, f.first_bad, f.last_good, f.state, f.kind) for f in found] == [
        ("cluster:1", "b", "a", SUSPECTED, NEW)]


def test_zero_of_300_against_17_of_300_is_confirmed():
    found = detect(commits("a", "b"), runs("a", 300) + runs("b", 300, ["dmesg.BUG:x"], failing=17))
    assert found[0].state == CONFIRMED and found[0].p_value < 1e-4
    assert (found[0].fail_good, found[0].runs_good, found[0].fail_bad, found[0].runs_bad) == (0, 300, 17, 300)


def test_later_failing_commits_update_the_regression_instead_of_opening_another():
    series = runs("a", 3) + runs("b", 1, ["k"]) + runs("c", 1, ["k"]) + runs("d", 1) + runs("e", 1, ["k"])
    (found,) = detect(commits("a", "b", "c", "d", "e"), series)
    assert (found.first_bad, found.last_good, found.latest_bad, found.bad_commits) == ("b", "a", "e", 3)


def test_a_key_failing_from_the_first_commit_is_no_regression():
    assert detect(commits("a", "b"), runs("a", 2, ["k"]) + runs("b", 2, ["k"])) == []


def test_the_named_parent_is_the_base_not_the_previous_arrival():
    # "c" names "a" as its parent; "b" (another line of work) failed already, "a" is clean
    series = runs("a", 2) + runs("b", 2, ["k"]) + runs("c", 2, ["k"])
    found = detect(commits("a", "b", "c", parents={"c": "a"}), series)
    assert [(f.first_bad, f.last_good) for f in found] == [("b", "a")]
    # with "c" alone on top of a clean parent it is c's regression
    found = detect(commits("a", "b", "c", parents={"c": "a"}), runs("a", 2) + runs("b", 2) + runs("c", 2, ["k"]))
    assert [(f.first_bad, f.last_good) for f in found] == [("c", "a")]


def test_a_parent_arriving_after_its_child_still_comes_first():
    late_parent = [CommitInfo("child", T0, "base"), CommitInfo("base", T0 + timedelta(hours=1))]
    assert [c.commit for c in series_order(late_parent)] == ["base", "child"]
    found = detect(late_parent, runs("base", 1) + runs("child", 1, ["k"]))
    assert [(f.first_bad, f.last_good) for f in found] == [("child", "base")]


def test_a_parent_cycle_does_not_hang():
    cycle = [CommitInfo("a", T0, "b"), CommitInfo("b", T0 + timedelta(hours=1), "a")]
    assert sorted(c.commit for c in series_order(cycle)) == ["a", "b"]


def test_stat_keys_join_the_cluster_they_were_seen_with():
    bad = [Run.of("b-0", ["cluster:7", "dmesg.BUG:x", "dmesg.RIP:f"], commit="b"),
           Run.of("b-1", ["dmesg.boot_failures"], commit="b")]
    found = detect(commits("a", "b"), runs("a", 2) + bad)
    by_key = {f.key: f.keys for f in found}
    assert by_key == {"cluster:7": ["cluster:7", "dmesg.BUG:x", "dmesg.RIP:f"],
                      "dmesg.boot_failures": ["dmesg.boot_failures"]}


def test_a_fixed_cluster_failing_after_the_fix_is_seen_again_after_fix():
    series = runs("a", 1) + runs("fix", 1) + runs("c", 1, ["cluster:3"])
    cs = commits("a", "fix", "c")
    found = detect(cs, series, {"cluster:3": Fix("fix", cs[1].first_seen)})
    assert [(f.kind, f.first_bad, f.last_good, f.state) for f in found] == [(AFTER_FIX, "c", "fix", CONFIRMED)]
    # before the fix was marked, it was a plain regression
    found = detect(cs, series, {"cluster:3": Fix("fix", cs[2].first_seen + timedelta(days=1))})
    assert [(f.kind, f.first_bad) for f in found] == [(NEW, "c")]
