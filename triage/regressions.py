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
from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import Cast, Concat, Least
from django.utils import timezone

from triage.models import Cluster, Crash, Job, Log, Regression, SeriesCommit, StatKey
from triage.queueing import send_on_commit
from triage.subsystems import in_section
from workers.compare import Run
from workers.regress import CLUSTER_PREFIX, DISMISSED, CommitInfo, Finding, Fix, detect

SERIES_WINDOW = 200  # newest commits of a job compared on each check
MAX_RUNS = 20_000  # newest runs of a job read on each check
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
    """The log's commit in its tree/branch series: first arrival kept, the first named parent kept
    (two statements: an insert that ignores an existing row, an update only when it changes one)."""
    if not log.commit:
        return
    key = {"tree": log.tree, "branch": log.branch, "commit": log.commit}
    SeriesCommit.objects.bulk_create([SeriesCommit(**key, parent=log.parent, first_seen=log.created)],
                                     ignore_conflicts=True)
    earlier = Q(first_seen__gt=log.created)
    if log.parent:
        earlier |= Q(parent="")
    SeriesCommit.objects.filter(earlier, **key).update(
        first_seen=Least("first_seen", Value(log.created)),
        parent=Case(When(parent="", then=Value(log.parent)), default=F("parent")))


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


def requeue_stale_checks() -> int:
    """Checks queued more than STALE_QUEUE ago and never started (a worker killed, a lost message):
    sent again, so a job whose last run came before the loss is still checked (beat, every 5 min)."""
    from workers.tasks import check_regressions

    now = timezone.now()
    sent = 0
    for pk in Job.objects.filter(check_queued__lt=now - STALE_QUEUE).values_list("pk", flat=True):
        if Job.objects.filter(pk=pk, check_queued__lt=now - STALE_QUEUE).update(check_queued=now):
            send_on_commit(check_regressions, pk)
            sent += 1
    return sent


def _series(job: Job) -> tuple[list[CommitInfo], list[Run], set[int]]:
    """The job's newest SERIES_WINDOW commits and their runs (keys: stat keys and "cluster:<pk>"):
    three queries whatever the number of runs and keys."""
    done = Log.objects.filter(status=Log.Status.DONE, **job.filters()).exclude(commit="")
    rows = list(done.order_by("-created").values_list("id", "commit", "created")[:MAX_RUNS])
    arrived: dict[str, object] = {}
    for _, commit, created in rows:  # newest first: the last one seen is the first arrival
        arrived[commit] = created
    known = {c.commit: c for c in SeriesCommit.objects.filter(tree=job.tree, branch=job.branch,
                                                                commit__in=list(arrived))}
    commits = [CommitInfo(c, known[c].first_seen if c in known else first, known[c].parent if c in known else "")
               for c, first in arrived.items()]
    commits.sort(key=lambda c: c.first_seen)
    commits = commits[-SERIES_WINDOW:]
    window = {c.commit for c in commits}
    keys: dict[int, set[str]] = {pk: set() for pk, commit, _ in rows if commit in window}
    on_log = {"log__status": Log.Status.DONE, "log__commit__in": list(window),
              **{f"log__{k}": v for k, v in job.filters().items()}}
    stat = StatKey.objects.filter(**on_log).order_by().values_list("log_id", "key")
    crash = (Crash.objects.filter(cluster__isnull=False, **on_log)
             .annotate(k=Concat(Value(CLUSTER_PREFIX), Cast("cluster_id", CharField())))
             .order_by().values_list("log_id", "k"))
    cluster_ids = set()
    for log_id, key in stat.union(crash):  # UNION: a log's crashes of one cluster count once
        if log_id in keys:
            keys[log_id].add(key)
            if key.startswith(CLUSTER_PREFIX):
                cluster_ids.add(int(key.removeprefix(CLUSTER_PREFIX)))
    runs = [Run(name=str(pk), keys=frozenset(keys[pk]), commit=commit) for pk, commit, _ in rows if pk in keys]
    return commits, runs, cluster_ids


def _diff(job: Job, existing: dict[tuple[str, str], Regression], findings: list[Finding]
          ) -> tuple[list[Regression], list[Regression]]:
    """(regressions to create, stored ones to update): found again, found anew, or gone (dismissed)."""
    new, changed, seen = [], [], set()
    for f in findings:
        values = dict(zip(FIELDS, (f.keys, f.kind, f.state, f.last_good, f.latest_bad, f.bad_commits,
                                   f.fail_bad, f.runs_bad, f.fail_good, f.runs_good, f.p_value), strict=True))
        row = existing.get((f.key, f.first_bad))
        seen.add((f.key, f.first_bad))
        if row is None:
            cid = int(f.key.removeprefix(CLUSTER_PREFIX)) if f.key.startswith(CLUSTER_PREFIX) else None
            new.append(Regression(job=job, key=f.key, first_bad_commit=f.first_bad, cluster_id=cid,
                                  title=f.key[:500], **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed.append(row)
    for key, row in existing.items():
        if key not in seen and row.state != DISMISSED:  # its last good commit fails too now
            row.state = DISMISSED
            changed.append(row)
    return new, changed


def _stored(job: Job, commits: list[CommitInfo], lock: bool = False) -> dict[tuple[str, str], Regression]:
    rows = Regression.objects.filter(job=job, first_bad_commit__in=[c.commit for c in commits])
    if lock:
        rows = rows.select_for_update(of=("self",))
    existing = {(r.key, r.first_bad_commit): r for r in rows.annotate(merged=F("cluster__merged_into_id"))}
    if any(r.merged for r in existing.values()):
        _follow_merges(existing)
    return existing


def check_job(job_id: int) -> int:
    """Compare the job's series and store the regressions found; the number created."""
    now = timezone.now()
    # runs arriving from now on queue another check
    if not Job.objects.filter(pk=job_id).update(check_queued=None, checked=now):
        return 0
    job = Job.objects.get(pk=job_id)
    commits, runs, cluster_ids = _series(job)
    fixes = {}
    if cluster_ids:
        fixes = {f"{CLUSTER_PREFIX}{pk}": Fix(commit, since) for pk, commit, since in Cluster.objects.filter(
            pk__in=cluster_ids, status=Cluster.Status.FIXED, status_changed__isnull=False)
            .values_list("pk", "fixed_commit", "status_changed")}
    findings = detect(commits, runs, fixes)
    new, changed = _diff(job, _stored(job, commits), findings)
    if not new and not changed:  # the usual answer: nothing to write, no transaction
        return 0
    with transaction.atomic():  # again under the rows' lock: a check of the same job may be running
        new, changed = _diff(job, _stored(job, commits, lock=True), findings)
        titles = dict(Cluster.objects.filter(pk__in=[r.cluster_id for r in new if r.cluster_id])
                      .values_list("pk", "title")) if new else {}
        for row in new:
            row.title = titles.get(row.cluster_id, row.title)[:500]
        Regression.objects.bulk_create(new)
        for row in changed:
            row.updated = now
        Regression.objects.bulk_update(changed, [*FIELDS, "updated"])
    return len(new)


def _follow_merges(existing: dict[tuple[str, str], Regression]) -> None:
    """A regression of a cluster merged since moves to the cluster it joined (its crashes did)."""
    from triage.clusters import live

    for (key, first_bad), row in list(existing.items()):
        if not row.merged:
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


def in_subsystem(regressions, subsystem: str):
    """Regressions whose cluster has crashes in this MAINTAINERS section (any of Crash.subsystems: the
    most specific section of their guilty file or a broader one).

    A stat-key regression without a cluster has no guilty file to map, so it never matches.
    """
    return regressions.filter(cluster__in=Crash.objects.filter(in_section(subsystem)).values("cluster_id"))
