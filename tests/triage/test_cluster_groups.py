"""A cluster's crashes counted per commit, day and job (triage.cluster_groups): the same numbers from
PostgreSQL's GROUPING SETS and from the per-run rows added up on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.triage.factories import make_report, make_run
from triage.cluster_groups import crash_groups
from triage.models import Build, Crash, Log

pytestmark = pytest.mark.django_db

WARN = make_report("WARNING in foo", ("foo", "bar"))
OTHER = make_report("BUG: unable to handle page fault in baz", ("baz",))


def at(log: Log, day: int, hour: int = 12) -> Log:
    Log.objects.filter(pk=log.pk).update(created=datetime(2026, 11, day, hour, tzinfo=UTC))
    return log


def test_counts_crashes_and_failing_runs_per_commit_day_and_job():
    build = Build.objects.create(release="6.12.0-rc1")
    at(make_run("c1", reports=[WARN, WARN], config="kasan", machine="vm1", build=build), 1)  # 2 crashes, 1 run
    at(make_run("c1", reports=[WARN], config="kasan", machine="vm2"), 1, 23)
    at(make_run("c1"), 1)  # clean: not the cluster's
    at(make_run("c2", reports=[WARN, OTHER], config="debug", machine="vm1"), 3)
    at(make_run("c2", reports=[WARN], config="debug", machine="vm1", status=Log.Status.FAILED), 3)  # not analysed
    cluster = Crash.objects.filter(title="WARNING in foo").first().cluster

    groups = crash_groups(cluster.pk, "config")
    c1, c2 = groups.commits[("", "", "c1")], groups.commits[("", "", "c2")]
    assert (c1.crashes, c1.failing_runs) == (3, 2)
    assert (c2.crashes, c2.failing_runs) == (2, 1)  # the failed run's crash counts, not as a run
    assert c1.first == datetime(2026, 11, 1, 12, tzinfo=UTC) and c1.last == datetime(2026, 11, 1, 23, tzinfo=UTC)
    assert sorted(groups.per_day) == [(datetime(2026, 11, 1).date(), "kasan", 3),
                                      (datetime(2026, 11, 3).date(), "debug", 2)]
    assert dict(groups.seen["configs"]) == {"kasan": 3, "debug": 2}
    assert dict(groups.seen["machines"]) == {"vm1": 4, "vm2": 1}
    assert dict(groups.seen["commits"]) == {"c1": 3, "c2": 2}
    assert dict(groups.seen["builds"]) == {(build.pk, "6.12.0-rc1"): 2}

    by_commit = crash_groups(cluster.pk, "commit")
    assert sorted(by_commit.per_day) == [(datetime(2026, 11, 1).date(), "c1", 3),
                                         (datetime(2026, 11, 3).date(), "c2", 2)]
    assert by_commit.commits[("", "", "c1")].failing_runs == 2
    unsplit = crash_groups(cluster.pk, "bogus")
    assert sorted(unsplit.per_day) == [(datetime(2026, 11, 1).date(), None, 3),
                                       (datetime(2026, 11, 3).date(), None, 2)]


def test_an_empty_cluster_counts_nothing():
    log = make_run("c1", reports=[WARN])
    cluster = log.crashes.get().cluster
    Crash.objects.all().delete()
    groups = crash_groups(cluster.pk)
    assert groups.commits == {} and groups.per_day == [] and not any(groups.seen.values())


def test_counts_per_commit_of_each_tree_and_branch_and_the_jobs_the_cluster_was_seen_in():
    make_run("c1", reports=[WARN], tree="mainline", branch="master", test="boot", config="kasan", arch="x86_64")
    make_run("c1", reports=[WARN, WARN], tree="next", branch="master", test="ltp", config="kasan", arch="arm64")
    make_run("c1", reports=[OTHER], tree="next", branch="master", test="kunit", config="kasan", arch="arm64")
    cluster = Crash.objects.filter(title="WARNING in foo").first().cluster
    groups = crash_groups(cluster.pk)
    assert {k: (c.tree, c.branch, c.crashes, c.failing_runs) for k, c in groups.commits.items()} == {
        ("mainline", "master", "c1"): ("mainline", "master", 1, 1), ("next", "master", "c1"): ("next", "master", 2, 1)}
    assert groups.jobs == {("boot", "kasan", "x86_64"), ("ltp", "kasan", "arm64")}
    assert dict(groups.seen["commits"]) == {"c1": 3}

