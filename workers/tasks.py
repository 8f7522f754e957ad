"""Celery tasks: a thin layer that loads from the database, calls the engine, saves rows."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

log = logging.getLogger(__name__)

# Tasks are acknowledged late so that a worker that dies leaves its task to another; a file that kills
# every worker it meets (memory) must not go round forever: after this many unfinished starts, give up.
MAX_ATTEMPTS = 3


def start_attempt(queryset, field: str) -> int | None:
    """Count one more start of a task on the row; its count so far, or None when the row is gone."""
    from django.db.models import F

    if not queryset.update(**{field: F(field) + 1}):
        return None
    return queryset.values_list(field, flat=True).first()


def save_with_retries(save, tries: int = 3):
    """Run a saving transaction again when PostgreSQL picked it as a deadlock victim: two workers
    filing into the same clusters in opposite orders is rare but legal, and the retry succeeds."""
    from django.db import OperationalError

    for attempt in range(tries):
        try:
            return save()
        except OperationalError as exc:
            if "deadlock" not in str(exc) or attempt == tries - 1:
                raise


def gave_up(what: str, attempts: int) -> str:
    return (f"gave up after {attempts - 1} attempts in which the worker died while {what} "
            "(out of memory on a damaged or hostile file?)")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def analyze_log(log_id: int, token: str | None = None) -> str:
    """Parse a stored log and file its crashes. Failures are recorded on the log, not raised.

    `token` is the queuing this message belongs to (triage.queueing): a copy of a message whose log
    is already running, done or queued again runs nothing."""
    from django.conf import settings

    from triage.analysis import save_analysis
    from triage.ingest import read_raw
    from triage.models import Log
    from triage.queueing import Heartbeat, claim
    from workers.parser import parse_log

    rows = Log.objects.filter(pk=log_id)
    if not claim(Log, log_id, token):
        return "gone" if not rows.exists() else "taken"
    attempts = start_attempt(rows, "attempts")
    if attempts is None:
        return "gone"
    if attempts > MAX_ATTEMPTS:
        return _analysis_failed(rows, gave_up("analyzing this log", attempts))
    entry = rows.get()
    try:
        with Heartbeat(Log, log_id):
            parsed = parse_log(read_raw(entry), name=entry.filename, max_reports=settings.TRIAGE_MAX_REPORTS_PER_LOG)
            save_with_retries(lambda: save_analysis(entry, parsed))
        log.info("analysed log %s", log_id)
    except SoftTimeLimitExceeded:
        return _analysis_failed(rows, "analysis took too long")
    except Exception as exc:  # the reason goes to the user; the log stays stored and can be re-queued
        log.exception("analysis of log %s failed", log_id)
        return _analysis_failed(rows, f"{type(exc).__name__}: {exc}")
    rows.update(attempts=0)
    from triage.regressions import note_run

    note_run(rows.get())
    return "done"


def _analysis_failed(rows, error: str) -> str:
    """The log's analysis failed: say why on it. The crashes of an earlier analysis stay (nothing
    stored is lost), but the log is no failing run now: its clusters' kept counts are counted again."""
    from triage.cluster_counts import runs_changed
    from triage.models import Log

    rows.update(status=Log.Status.FAILED, error=error, attempts=0)
    runs_changed(list(rows.values_list("pk", flat=True)))
    return "failed"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_regressions(job_id: int) -> int:
    """Compare a job's series and store its regressions (queued, debounced, by each analysis)."""
    from triage.regressions import check_job

    return check_job(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def count_cluster(cluster_id: int) -> bool:
    """Count a big cluster for its page (queued, debounced, when its crashes change; see
    triage.cluster_counts)."""
    from triage.cluster_counts import count_cluster as count

    return count(cluster_id)


@shared_task
def requeue_regression_checks() -> int:
    """Re-send regression checks that were queued and never ran (beat; see triage.regressions)."""
    from triage.regressions import requeue_stale_checks

    return requeue_stale_checks()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_build(build_id: int, token: str | None = None) -> str:
    """Index a build's vmlinux, then decode the crashes that were waiting for it (`token`: as for
    analyze_log)."""
    from triage.builds import extract_tarballs
    from triage.decoding import index, queue_waiting_crashes
    from triage.models import Build
    from triage.queueing import Heartbeat, claim

    rows = Build.objects.filter(pk=build_id)
    if not claim(Build, build_id, token):
        return "gone" if not rows.exists() else "taken"
    attempts = start_attempt(rows, "attempts")
    if attempts is None:
        return "gone"
    if attempts > MAX_ATTEMPTS:
        rows.update(index_status=Build.Index.FAILED, index_error=gave_up("indexing this build", attempts), attempts=0)
        return "failed"
    rows.update(index_progress=0)
    try:
        with Heartbeat(Build, build_id):
            extract_tarballs(rows.get())  # modules tarballs: checked and extracted here, not in the upload
            if not rows.get().files.filter(kind="vmlinux").exists():
                rows.update(index_status=Build.Index.NONE, attempts=0)
                return "modules"
            known = index(rows.get())
    except SoftTimeLimitExceeded:
        rows.update(index_status=Build.Index.FAILED, index_error="indexing took too long", attempts=0)
        return "failed"
    except Exception as exc:  # crafted or truncated ELF files end here, with the reason for the user
        log.warning("indexing build %s failed: %s", build_id, exc)
        rows.update(index_status=Build.Index.FAILED, index_error=str(exc)[:2000], attempts=0)
        return "failed"
    rows.update(attempts=0)
    if known is not None:  # a vmlinux we had: its modules went to that build, its crashes decode there
        return "merged"
    queue_waiting_crashes(rows.get())
    return "ready"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def decode_log(log_id: int, token: str | None = None) -> str:
    """Symbolize the crashes of one log with its build (`token`: the queuing this message belongs to,
    see triage.decode_queue; a stale copy runs nothing)."""
    from triage.decode_queue import claim_decode
    from triage.decoding import decode
    from triage.models import Crash, Log
    from triage.queueing import Heartbeat

    rows = Log.objects.filter(pk=log_id)
    if not claim_decode(log_id, token):
        return "gone" if not rows.exists() else "taken"
    attempts = start_attempt(rows, "decode_attempts")
    if attempts is None:
        return "gone"
    entry = rows.select_related("build").get()
    if attempts > MAX_ATTEMPTS:
        Crash.objects.filter(log=entry).update(decode_status=Crash.Decode.FAILED,
                                                decode_error=gave_up("decoding this log", attempts))
        rows.update(decode_attempts=0, decode_requeues=0)
        return "failed"
    try:
        with Heartbeat(Log, log_id, field="decode_beat"):  # the decode sweeper leaves a live decode alone
            decode(entry)
    except Exception as exc:
        log.exception("decoding log %s failed", log_id)
        Crash.objects.filter(log=entry).update(decode_status=Crash.Decode.FAILED,
                                                decode_error=f"{type(exc).__name__}: {exc}"[:2000])
        return "failed"
    finally:
        rows.update(decode_attempts=0, decode_requeues=0)
    return "done"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reassign_subsystems(tree: str) -> int:
    """Re-file the stored crashes of a tree after its MAINTAINERS changed (see triage.subsystem_refresh;
    idempotent, so a redelivered or doubled message costs time, not correctness)."""
    from triage.subsystem_refresh import reassign

    return reassign(tree)


@shared_task
def sweep() -> dict[str, int]:
    """Re-queue logs and builds whose task is gone (scheduled by beat; see triage.queueing)."""
    from triage.queueing import sweep as run

    return run()


@shared_task
def sweep_decodes() -> dict[str, int]:
    """Re-send crash decodes whose message was lost (scheduled by beat; see triage.decode_queue)."""
    from triage.decode_queue import sweep as run

    return run()


@shared_task
def send_digests() -> int:
    """The email digests due now (beat runs it at TRIAGE_DIGEST_TIME; see triage.digest)."""
    from triage.digest import send_due

    return send_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_kcidb(import_id: int, token: str | None = None) -> str:
    """Fetch and store the logs of a KCIDB submission (see triage.kcidb_imports)."""
    from triage.kcidb_imports import run_import

    return run_import(import_id, token)
