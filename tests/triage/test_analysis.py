"""The analysis task: crashes, stat keys and clusters from a stored log; failures kept with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_log
from triage.ingest import queue_analysis
from triage.models import Cluster, Crash, Log
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


def test_analysis_writes_crash_rows_and_files_them_into_clusters():
    log = make_log(fixture_log("x86_64-kasan-uaf.log"), commit="c1")
    assert analyze_log(log.pk) == "done"
    log.refresh_from_db()
    assert log.status == Log.Status.DONE and log.processed is not None
    crashes = list(log.crashes.order_by("index"))
    assert crashes and log.crash_count == len(crashes)
    assert all(c.cluster_id for c in crashes)
    assert crashes[0].title
    assert crashes[0].report["title"] == crashes[0].title


def test_same_crash_in_two_logs_shares_a_cluster_and_counts_twice():
    data = fixture_log("x86_64-warning.log")
    first, second = make_log(data, commit="c1"), make_log(data, commit="c2")
    analyze_log(first.pk)
    analyze_log(second.pk)
    primary = Crash.objects.filter(index=0)
    assert primary.count() == 2
    assert len({c.cluster_id for c in primary}) == 1
    assert primary.first().cluster.crash_count >= 2


def test_reanalysis_replaces_rows_instead_of_adding():
    log = make_log(fixture_log("x86_64-kasan-uaf.log"))
    analyze_log(log.pk)
    before = list(Crash.objects.values_list("title", flat=True))
    analyze_log(log.pk)
    assert list(Crash.objects.values_list("title", flat=True)) == before
    assert sum(c.crash_count for c in Cluster.objects.all()) == len(before)


def test_a_clean_boot_is_a_run_without_crashes():
    log = make_log(fixture_log("x86_64-boot.log"))
    analyze_log(log.pk)
    log.refresh_from_db()
    assert log.status == Log.Status.DONE and log.crash_count == 0


def test_failed_analysis_is_marked_with_the_reason_and_can_be_requeued(settings):
    log = make_log(fixture_log("x86_64-warning.log"))
    raw = Path(settings.MEDIA_ROOT) / log.raw
    saved = raw.read_bytes()
    raw.unlink()  # the storage lost the file: the task must say so, not crash the worker
    assert analyze_log(log.pk) == "failed"
    log.refresh_from_db()
    assert log.status == Log.Status.FAILED and "No such file" in log.error
    raw.write_bytes(saved)
    queue_analysis(log)
    assert Log.objects.get(pk=log.pk).status == Log.Status.QUEUED
    assert analyze_log(log.pk) == "done"
    assert Log.objects.get(pk=log.pk).error == ""
