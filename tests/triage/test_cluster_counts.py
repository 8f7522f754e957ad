"""Where a cluster page's counts come from (triage.cluster_counts): the shared cache, a big cluster's
counts kept by a worker, or counted by the page; never counts older than the cluster's crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.triage.factories import make_crash, make_report, make_run
from triage import cluster_counts
from triage.cluster_counts import count_cluster, from_json, page_groups, stored_groups, to_json
from triage.cluster_groups import crash_groups
from triage.decoding import queue_waiting_crashes
from triage.models import Build, Cluster, ClusterCounts, Crash, Log

pytestmark = pytest.mark.django_db

WARN = make_report("WARNING in foo", ("foo", "bar"))


def at(log: Log, day: int) -> Log:
    Log.objects.filter(pk=log.pk).update(created=datetime(2026, 11, day, 12, tzinfo=UTC))
    return log


def some_runs(build: Build | None = None) -> Cluster:
    at(make_run("c1", reports=[WARN, WARN], config="kasan", machine="vm1", build=build), 1)
    at(make_run("c1", reports=[WARN], config="debug", machine="vm2"), 2)
    at(make_run("c2", reports=[WARN], tree="next", branch="master", test="ltp", arch="arm64"), 3)
    cluster = Crash.objects.first().cluster
    cluster.refresh_stats()  # the days moved: first and last seen with them
    return cluster


def test_counts_kept_as_json_read_back_as_counted():
    cluster = some_runs(Build.objects.create(release="6.12.0"))
    counted = {split or "": crash_groups(cluster.pk, split) for split in (None, "commit", "config")}
    kept = to_json(counted)
    for split in (None, "commit", "config"):
        assert from_json(kept, split) == counted[split or ""]


def test_a_big_cluster_is_counted_by_the_worker_and_its_page_reads_the_count(
        settings, eager_tasks, django_capture_on_commit_callbacks):
    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    with django_capture_on_commit_callbacks(execute=True):
        cluster = some_runs()
    cluster.refresh_from_db()
    assert ClusterCounts.objects.filter(cluster=cluster).exists()
    with CaptureQueriesContext(connection) as queries:
        groups = page_groups(cluster, "commit")
    assert len(queries) == 1  # the kept counts: no per-run count
    assert groups == crash_groups(cluster.pk, "commit")


def test_a_small_cluster_is_counted_by_its_page():
    cluster = some_runs()
    assert not ClusterCounts.objects.exists()
    assert page_groups(cluster).commits[("", "", "c1")].failing_runs == 2


def test_crashes_filed_after_the_count_are_added_to_it_by_the_page(settings):
    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    cluster = some_runs()
    assert count_cluster(cluster.pk)
    at(make_run("c3", reports=[WARN], config="kasan"), 4)  # its count is queued, not run
    make_crash(Log.objects.get(commit="c2"), WARN, index=1)  # a second crash of a run already counted
    cluster.refresh_from_db()
    cluster.refresh_stats()
    for split in (None, "commit", "config"):
        assert stored_groups(cluster, split) == crash_groups(cluster.pk, split)
    groups = stored_groups(cluster)
    assert groups.commits[("", "", "c3")].failing_runs == 1
    assert groups.commits[("next", "master", "c2")].crashes == 2 and groups.commits[("next", "master", "c2")].failing_runs == 1


def test_kept_counts_are_not_used_once_a_crash_left_the_cluster_or_too_many_joined(settings, monkeypatch):
    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    cluster = some_runs()
    assert count_cluster(cluster.pk)
    at(make_run("c3", reports=[WARN]), 4)
    cluster.refresh_from_db()
    monkeypatch.setattr(cluster_counts, "MAX_ADDED", 0)
    assert stored_groups(cluster) is None
    monkeypatch.setattr(cluster_counts, "MAX_ADDED", 10)
    assert stored_groups(cluster) is not None
    Crash.objects.filter(log__commit="c1").first().delete()  # as a re-analysis that no longer finds it
    cluster.refresh_stats()
    assert stored_groups(cluster) is None
    assert page_groups(cluster).commits[("", "", "c1")].crashes == 2


def test_a_count_that_a_crash_raced_is_not_kept_and_another_is_queued(settings, monkeypatch):
    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    cluster = some_runs()
    queued = []
    monkeypatch.setattr(cluster_counts, "counts_changed", lambda c: queued.append(c.pk))
    real = cluster_counts.crash_groups

    def filed_meanwhile(cluster_id, split=None):
        if split is None:
            make_run("c9", reports=[WARN])  # filed while the worker counts
        return real(cluster_id, split)

    monkeypatch.setattr(cluster_counts, "crash_groups", filed_meanwhile)
    assert not count_cluster(cluster.pk)
    assert not ClusterCounts.objects.exists() and cluster.pk in queued


def test_a_build_matched_later_drops_the_kept_counts_that_name_no_build(settings):
    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    cluster = some_runs()
    Log.objects.update(release="6.12.0")
    assert count_cluster(cluster.pk)
    assert not stored_groups(cluster).seen["builds"]
    build = Build.objects.create(release="6.12.0")
    queue_waiting_crashes(build)
    assert stored_groups(cluster) is None
    assert page_groups(cluster).seen["builds"] == {(build.pk, "6.12.0"): 4}


def test_the_page_keeps_its_counts_in_the_cache_until_a_crash_is_filed_into_the_cluster():
    make_run("c1", reports=[WARN])
    cluster = Crash.objects.get().cluster
    page_groups(cluster)
    with CaptureQueriesContext(connection) as queries:
        again = page_groups(cluster)
    assert len(queries) == 0 and again.commits[("", "", "c1")].crashes == 1
    make_run("c2", reports=[WARN])
    cluster.refresh_from_db()
    fresh = page_groups(cluster)
    assert fresh.commits[("", "", "c2")].crashes == 1 and ("", "", "c2") not in again.commits


def test_a_run_whose_analysis_failed_since_is_not_counted_failing_by_the_kept_counts(settings):
    from workers.tasks import analyze_log

    settings.TRIAGE_COUNTED_CLUSTER_SIZE = 3
    cluster = some_runs()
    assert count_cluster(cluster.pk)
    assert stored_groups(cluster).commits[("next", "master", "c2")].failing_runs == 1
    second = Log.objects.get(tree="next")  # analysed again, its stored bytes now unreadable: it fails
    assert analyze_log(second.pk) == "failed"
    assert Crash.objects.filter(log=second).exists()  # what it found before stays
    assert stored_groups(cluster) is None
    assert page_groups(cluster).commits[("next", "master", "c2")].failing_runs == 0
