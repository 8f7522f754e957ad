"""Regression detection in the database: series commits, the debounced check per job, stored findings.

After each analysis `note_run` records the log's commit in its tree/branch series and asks for a check
of its job, at most one queued per job (`Job.check_queued`, a conditional UPDATE, so several workers
racing queue one task); the check runs `TRIAGE_REGRESSION_DELAY` seconds later, so that a burst of
runs of one job is compared once. `check_job` loads the job's newest runs in a constant number of
queries, lets `workers.regress.detect` decide, and stores what it says: new regressions created,
known ones updated, ones the series no longer shows dismissed.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from triage.models import Cluster, Crash, Job, Log, Regression, SeriesCommit, StatKey
from triage.queueing import send_on_commit
from workers.compare import Run
from workers.regress import CLUSTER_PREFIX, DISMISSED, CommitInfo, Fix, detect

SERIES_WINDOW = 200  # newest commits of a job compared on each check
FIELDS = ("keys", "kind", "state", "last_good_commit", "latest_bad_commit", "bad_commits", "fail_bad",
          "runs_bad", "fail_good", "runs_good", "p_value")  # what a check may change on a stored regression
STALE_QUEUE = timedelta(minutes=15)  # a queued check not started by then was lost (worker killed): queue again


def job_of(log: Log) -> Job:
    fields = {f: getattr(log, f) for f in Log.JOB}
    job = Job.objects.filter(**fields).first()
    if job is None:
        try:
            with transaction.atomic():
                job = Job.objects.create(**fields)
        except IntegrityError:  # another worker created it first
            job = Job.objects.get(**fields)
    return job


def record_commit(log: Log) -> None:
    """The log's commit in its tree/branch series: first arrival kept, the first named parent kept."""
    if not log.commit:
        return
    key = {"tree": log.tree, "branch": log.branch, "commit": log.commit}
    try:
        with transaction.atomic():
            SeriesCommit.objects.get_or_create(**key, defaults={"parent": log.parent, "first_seen": log.created})
    except IntegrityError:
        pass
    SeriesCommit.objects.filter(**key, first_seen__gt=log.created).update(first_seen=log.created)
    if log.parent:
        SeriesCommit.objects.filter(**key, parent="").update(parent=log.parent)


def note_run(log: Log) -> None:
    """Called once a log is analysed: record its commit and queue one check of its job."""
    if not log.commit or log.status != Log.Status.DONE:
        return
    record_commit(log)
    job = job_of(log)
    now = timezone.now()
    queued = (Job.objects.filter(pk=job.pk).filter(Q(check_queued=None) | Q(check_queued__lt=now - STALE_QUEUE))
              .update(check_queued=now))
    if queued:
        from workers.tasks import check_regressions

        delay = settings.TRIAGE_REGRESSION_DELAY
        send_on_commit(check_regressions, job.pk, countdown=delay)  # a broker error must not fail the analysis


def _series(job: Job) -> tuple[list[CommitInfo], list[Run], set[int]]:
    """The job's newest SERIES_WINDOW commits and their runs (keys: stat keys and "cluster:<pk>")."""
    done = Log.objects.filter(status=Log.Status.DONE, **job.filters()).exclude(commit="")
    arrived = dict(done.values("commit").annotate(first=Min("created")).order_by().values_list("commit", "first"))
    known = {c.commit: c for c in SeriesCommit.objects.filter(tree=job.tree, branch=job.branch,
                                                                commit__in=list(arrived))}
    commits = [CommitInfo(c, known[c].first_seen if c in known else first, known[c].parent if c in known else "")
               for c, first in arrived.items()]
    commits.sort(key=lambda c: c.first_seen)
    commits = commits[-SERIES_WINDOW:]
    window = [c.commit for c in commits]
    logs = dict(done.filter(commit__in=window).values_list("id", "commit"))
    keys: dict[int, set[str]] = {pk: set() for pk in logs}
    on_log = {f"log__{k}": v for k, v in job.filters().items()}
    for log_id, key in StatKey.objects.filter(log__status=Log.Status.DONE, log__commit__in=window,
                                              **on_log).values_list("log_id", "key"):
        if log_id in keys:
            keys[log_id].add(key)
    cluster_ids = set()
    for log_id, cid in (Crash.objects.filter(log__status=Log.Status.DONE, log__commit__in=window,
                                             cluster__isnull=False, **on_log)
                        .values_list("log_id", "cluster_id").distinct()):
        if log_id in keys:
            keys[log_id].add(f"{CLUSTER_PREFIX}{cid}")
            cluster_ids.add(cid)
    runs = [Run(name=str(pk), keys=frozenset(keys[pk]), commit=commit) for pk, commit in logs.items()]
    return commits, runs, cluster_ids


def check_job(job_id: int) -> int:
    """Compare the job's series and store the regressions found; the number created."""
    Job.objects.filter(pk=job_id).update(check_queued=None)  # runs arriving from now on queue another check
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return 0
    commits, runs, cluster_ids = _series(job)
    clusters = {c.pk: c for c in Cluster.objects.filter(pk__in=cluster_ids).only(
        "pk", "title", "status", "fixed_commit", "status_changed")}
    fixes = {f"{CLUSTER_PREFIX}{pk}": Fix(c.fixed_commit, c.status_changed) for pk, c in clusters.items()
             if c.status == Cluster.Status.FIXED and c.status_changed}
    findings = detect(commits, runs, fixes)
    created = 0
    with transaction.atomic():
        existing = {(r.key, r.first_bad_commit): r for r in
                    Regression.objects.select_for_update(of=("self",)).filter(job=job, first_bad_commit__in=[c.commit for c in commits])
                    .select_related("cluster")}
        _follow_merges(existing)
        new, changed, seen = [], [], set()
        for f in findings:
            cid = int(f.key.removeprefix(CLUSTER_PREFIX)) if f.key.startswith(CLUSTER_PREFIX) else None
            values = dict(zip(FIELDS, (f.keys, f.kind, f.state, f.last_good, f.latest_bad, f.bad_commits,
                                       f.fail_bad, f.runs_bad, f.fail_good, f.runs_good, f.p_value), strict=True))
            row = existing.get((f.key, f.first_bad))
            seen.add((f.key, f.first_bad))
            if row is None:
                title = clusters[cid].title if cid in clusters else f.key
                new.append(Regression(job=job, key=f.key, first_bad_commit=f.first_bad, cluster_id=cid,
                                      title=title[:500], **values))
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                changed.append(row)
        for key, row in existing.items():
            if key not in seen and row.state != DISMISSED:  # its last good commit fails too now
                row.state = DISMISSED
                changed.append(row)
        Regression.objects.bulk_create(new)
        now = timezone.now()
        for row in changed:
            row.updated = now
        Regression.objects.bulk_update(changed, [*FIELDS, "updated"])
        Job.objects.filter(pk=job.pk).update(checked=now)
        created = len(new)
    return created


def _follow_merges(existing: dict[tuple[str, str], Regression]) -> None:
    """A regression of a cluster merged since moves to the cluster it joined (its crashes did)."""
    from triage.clusters import live

    for (key, first_bad), row in list(existing.items()):
        if row.cluster is None or not row.cluster.merged_into_id:
            continue
        target = live(row.cluster)
        new_key = f"{CLUSTER_PREFIX}{target.pk}"
        if (new_key, first_bad) in existing:
            continue  # the survivor has its own: this one is dismissed below like any other gone one
        del existing[(key, first_bad)]
        row.key, row.cluster = new_key, target
        row.save(update_fields=["key", "cluster"])
        existing[(new_key, first_bad)] = row


def regression_counts() -> dict[str, int]:
    """Regressions per state, for the list page."""
    return dict(Regression.objects.values("state").annotate(n=Count("id")).order_by().values_list("state", "n"))
