"""Regressions in the database: one debounced check per job, stored, updated, dismissed."""

from __future__ import annotations

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_report, make_run
from triage.models import Job, Log, Regression, SeriesCommit
from triage.regressions import check_job, job_of, note_run
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db

JOB = {"tree": "linux-next", "branch": "master", "config": "x86_64-defconfig", "arch": "x86_64", "test": "boot"}
UAF = make_report("KASAN: slab-use-after-free Read in foo", ["foo", "bar"])


def run(commit: str, crash: bool = False, **extra) -> Log:
    log = make_run(commit, stat_keys=["dmesg.BUG:KASAN:slab-use-after-free_in_foo"] if crash else [],
                   reports=[UAF] if crash else [], **{**JOB, **extra})
    note_run(log)
    return log


def check() -> Job:
    job = Job.objects.get(**JOB)
    check_job(job.pk)
    return job


def test_analysis_queues_one_check_per_job_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        for n in ("1", "2"):
            analyze_log(make_log(fixture_log("x86_64-boot.log"), commit="c1", run_id=n, **JOB).pk)
        analyze_log(make_log(fixture_log("x86_64-boot.log"), commit="c1", **{**JOB, "test": "other"}).pk)
    # one per stored log (its analysis task), then one check per job, not one per analysed log
    assert len(queued) == 3 + 2
    assert Job.objects.filter(check_queued__isnull=False).count() == 2
    assert SeriesCommit.objects.get(commit="c1").tree == "linux-next"


def test_a_crash_on_a_new_commit_is_a_suspected_regression_with_first_bad_and_last_good():
    run("good")
    run("bad", crash=True)
    job = check()
    (reg,) = Regression.objects.filter(job=job)
    assert (reg.state, reg.first_bad_commit, reg.last_good_commit) == ("suspected", "bad", "good")
    assert reg.cluster is not None and reg.title == UAF.title
    assert reg.keys == [f"cluster:{reg.cluster_id}", "dmesg.BUG:KASAN:slab-use-after-free_in_foo"]
    assert Job.objects.get(pk=job.pk).check_queued is None


def test_later_failing_commits_update_the_same_row_and_more_runs_confirm_it():
    run("good")
    run("bad", crash=True)
    check()
    first = Regression.objects.get()
    for _ in range(7):
        run("good", run_id="more")
    for _ in range(7):
        run("bad", crash=True)
    run("later", crash=True)
    check()
    (reg,) = Regression.objects.all()
    assert reg.pk == first.pk
    assert (reg.state, reg.latest_bad_commit, reg.bad_commits) == ("confirmed", "later", 2)
    assert (reg.fail_good, reg.runs_good, reg.fail_bad, reg.runs_bad) == (0, 8, 8, 8)


def test_a_regression_whose_last_good_commit_fails_too_is_dismissed():
    run("good")
    run("bad", crash=True)
    check()
    run("good", crash=True)
    check()
    assert Regression.objects.get().state == "dismissed"


def test_the_named_parent_is_the_base():
    run("base")
    run("other", crash=True)  # another line of work, arrived between
    run("tip", crash=True, parent="base")
    check()
    assert sorted(Regression.objects.values_list("first_bad_commit", "last_good_commit")) == [
        ("other", "base")]
    assert SeriesCommit.objects.get(commit="tip").parent == "base"


def test_a_fixed_cluster_seen_again_is_its_own_kind_of_regression():
    run("a")
    run("b", crash=True)
    check()
    reg = Regression.objects.get()
    cluster = reg.cluster
    from django.utils import timezone

    cluster.status, cluster.fixed_commit, cluster.status_changed = "fixed", "fix1", timezone.now()
    cluster.save()
    run("fix1")
    run("c", crash=True)
    check()
    again = Regression.objects.get(kind="after_fix")
    assert (again.first_bad_commit, again.last_good_commit, again.cluster_id) == ("c", "fix1", cluster.pk)


def test_a_job_is_created_once_per_tree_branch_config_arch_test():
    a = make_run("x", **JOB, machine="m1")
    b = make_run("x", **JOB, machine="m2")
    assert job_of(a).pk == job_of(b).pk


def test_a_regression_follows_its_cluster_into_a_merge_instead_of_being_dismissed():
    from triage.clusters import merge

    run("good")
    run("bad", crash=True)
    check()
    reg = Regression.objects.get()
    other = make_run("elsewhere", reports=[make_report("BUG: something else")]).crashes.get().cluster
    merge(reg.cluster_id, other.pk)
    check()
    (after,) = Regression.objects.filter(job__test="boot")
    assert (after.pk, after.cluster_id, after.key, after.state) == (reg.pk, other.pk, f"cluster:{other.pk}", "suspected")


def test_a_check_lost_with_its_worker_is_sent_again_by_beat(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from triage.regressions import STALE_QUEUE, requeue_stale_checks

    run("a")
    job = Job.objects.get(**JOB)
    Job.objects.filter(pk=job.pk).update(check_queued=timezone.now() - STALE_QUEUE - timedelta(minutes=1))
    with django_capture_on_commit_callbacks() as sent:
        assert requeue_stale_checks() == 1
        assert requeue_stale_checks() == 0  # queued again just now: not twice
    assert len(sent) == 1
    assert timezone.now() - Job.objects.get(pk=job.pk).check_queued < timedelta(minutes=1)
