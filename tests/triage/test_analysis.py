"""The analysis task: crashes, stat keys and clusters from a stored log; failures kept with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_triager, make_user
from triage.ingest import queue_analysis
from triage.models import Cluster, Crash, Log
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


def test_analysis_writes_crash_rows_and_files_them_into_clusters():
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="c1")
    assert analyze_log(log.pk) == "done"
    log.refresh_from_db()
    assert log.status == Log.Status.DONE and log.processed is not None
    crashes = list(log.crashes.order_by("index"))
    assert crashes and log.crash_count == len(crashes)
    assert all(c.cluster_id for c in crashes)
    assert crashes[0].title
    assert crashes[0].report["title"] == crashes[0].title


def test_same_crash_in_two_logs_shares_a_cluster_and_counts_twice():
    data = fixture_log("x86_64-WARNING.log")
    first, second = make_log(data, commit="c1"), make_log(data, commit="c2")
    analyze_log(first.pk)
    analyze_log(second.pk)
    primary = Crash.objects.filter(index=0)
    assert primary.count() == 2
    assert len({c.cluster_id for c in primary}) == 1
    assert primary.first().cluster.crash_count >= 2


def test_reanalysis_replaces_rows_instead_of_adding():
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"))
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
    log = make_log(fixture_log("x86_64-WARNING.log"))
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


def test_reanalysis_that_renames_a_crash_keeps_it_in_its_cluster(monkeypatch):
    import workers.parser

    log = make_log(fixture_log("x86_64-WARNING.log"))
    analyze_log(log.pk)
    first = Crash.objects.get(log=log, index=0)
    real_parse = workers.parser.parse_log

    def renamed(data, name=None, **options):  # a parser upgrade that titles the same report differently
        parsed = real_parse(data, name, **options)
        parsed.reports[0].title = "WARNING in a_better_guilty_frame"
        parsed.reports[0].alt_titles = []
        return parsed

    monkeypatch.setattr(workers.parser, "parse_log", renamed)
    analyze_log(log.pk)
    again = Crash.objects.get(log=log, index=0)
    assert again.title == "WARNING in a_better_guilty_frame"
    assert again.cluster_id == first.cluster_id


def test_a_log_that_keeps_killing_workers_is_given_up_on():
    log = make_log(fixture_log("x86_64-WARNING.log"))
    Log.objects.filter(pk=log.pk).update(attempts=3)  # three starts whose worker died mid-task
    assert analyze_log(log.pk) == "failed"
    log.refresh_from_db()
    assert log.status == Log.Status.FAILED and "gave up after 3 attempts" in log.error
    queue_analysis(log)  # a person re-queues it: it gets its attempts back
    assert analyze_log(log.pk) == "done"
    assert Log.objects.get(pk=log.pk).attempts == 0


def test_long_titles_and_metadata_are_cut_to_their_columns():
    from triage.analysis import save_analysis
    from workers.report import ParsedLog, Report

    log = make_log(fixture_log("x86_64-boot.log"), commit="c" * 100, arch="a" * 100)
    assert (len(log.commit), len(log.arch)) == (64, 32)
    long = Report(title="WARNING in " + "f" * 700, kind="WARNING", alt_titles=["WARNING in " + "g" * 700])
    save_analysis(log, ParsedLog(reports=[long]))
    crash = Crash.objects.get(log=log)
    assert len(crash.title) == 500 and len(crash.alt_titles[0]) == 500 and crash.cluster_id


def test_requeue_needs_the_triage_permission(client):
    log = make_log(fixture_log("x86_64-WARNING.log"))
    Log.objects.filter(pk=log.pk).update(status=Log.Status.FAILED)
    client.force_login(make_user("mallory"))
    assert client.post(f"/logs/{log.pk}/requeue").status_code == 403
    assert Log.objects.get(pk=log.pk).status == Log.Status.FAILED
    client.force_login(make_triager("alice"))
    assert client.post(f"/logs/{log.pk}/requeue").status_code == 302
    assert Log.objects.get(pk=log.pk).status == Log.Status.QUEUED
