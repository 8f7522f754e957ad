"""Celery tasks: a thin layer that loads from the database, calls the engine, saves rows."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def analyze_log(log_id: int) -> str:
    """Parse a stored log and file its crashes. Failures are recorded on the log, not raised."""
    from django.db.models import F

    from triage.analysis import save_analysis
    from triage.ingest import read_raw
    from triage.models import Log
    from workers.parser import parse_log

    updated = Log.objects.filter(pk=log_id).update(status=Log.Status.RUNNING, attempts=F("attempts") + 1)
    if not updated:
        return "gone"
    entry = Log.objects.get(pk=log_id)
    try:
        parsed = parse_log(read_raw(entry))
        save_analysis(entry, parsed)
    except SoftTimeLimitExceeded:
        Log.objects.filter(pk=log_id).update(status=Log.Status.FAILED, error="analysis took too long")
        return "failed"
    except Exception as exc:  # the reason goes to the user; the log stays stored and can be re-queued
        log.exception("analysis of log %s failed", log_id)
        Log.objects.filter(pk=log_id).update(status=Log.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return "failed"
    return "done"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_build(build_id: int) -> str:
    """Index a build's vmlinux, then decode the crashes that were waiting for it."""
    from triage.decoding import index, queue_waiting_crashes
    from triage.models import Build

    Build.objects.filter(pk=build_id).update(index_status=Build.Index.BUILDING, index_progress=0)
    build = Build.objects.filter(pk=build_id).first()
    if build is None:
        return "gone"
    try:
        index(build)
    except SoftTimeLimitExceeded:
        Build.objects.filter(pk=build_id).update(index_status=Build.Index.FAILED, index_error="indexing took too long")
        return "failed"
    except Exception as exc:  # crafted or truncated ELF files end here, with the reason for the user
        log.warning("indexing build %s failed: %s", build_id, exc)
        Build.objects.filter(pk=build_id).update(index_status=Build.Index.FAILED, index_error=str(exc)[:2000])
        return "failed"
    queue_waiting_crashes(Build.objects.get(pk=build_id))
    return "ready"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def decode_log(log_id: int) -> str:
    """Symbolize the crashes of one log with its build."""
    from triage.decoding import decode
    from triage.models import Crash, Log

    entry = Log.objects.select_related("build").filter(pk=log_id).first()
    if entry is None:
        return "gone"
    try:
        decode(entry)
    except Exception as exc:
        log.exception("decoding log %s failed", log_id)
        Crash.objects.filter(log=entry).update(decode_status=Crash.Decode.FAILED,
                                                decode_error=f"{type(exc).__name__}: {exc}"[:2000])
        return "failed"
    return "done"


@shared_task
def send_digest(hours: int = 24) -> int:
    """The periodic email digest of new crash clusters (scheduled by beat, see settings)."""
    from triage.digest import send_digest as send

    return send(hours)
