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
