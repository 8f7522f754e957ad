"""A KCIDB import as a queued job: the API stores the validated submission and answers at once; a
worker fetches the log_urls (up to TRIAGE_KCIDB_MAX_TESTS of them, each up to its fetch timeout) and
saves the outcome test by test, so a client polling it sees progress and a worker killed halfway is
replaced by another (triage.queueing's sweeper) that finds the logs already stored ("existing")."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from triage import kcidb
from triage.models import KcidbImport, Log
from triage.queueing import Heartbeat, Queued, claim, queue

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def start_import(data: object, user=None, token=None) -> tuple[KcidbImport, Queued]:
    """Validate the submission (KcidbError saying why) and queue its import."""
    from workers.tasks import import_kcidb

    submission = kcidb.validated(data)
    with transaction.atomic():
        job = KcidbImport.objects.create(submission=submission, uploaded_by=user, uploaded_token=token)
        queued = queue(job, import_kcidb)
    return job, queued


def run_import(pk: int, token: str | None = None) -> str:
    """The worker's side: claim the import, fetch and store each test's log, record the outcome."""
    rows = KcidbImport.objects.filter(pk=pk)
    if not claim(KcidbImport, pk, token):
        return "gone" if not rows.exists() else "taken"
    job = rows.get()
    job.attempts += 1
    rows.update(attempts=job.attempts)
    if job.attempts > MAX_ATTEMPTS:
        rows.update(status=KcidbImport.Status.FAILED, finished=timezone.now(),
                    error=f"gave up after {MAX_ATTEMPTS} attempts in which the worker died")
        return "failed"

    def progress(result: kcidb.ImportResult) -> None:
        rows.update(result=result.to_dict())

    try:
        with Heartbeat(KcidbImport, pk):
            result, created = kcidb.import_submission(job.submission, job.uploaded_by, progress=progress)
    except Exception as exc:  # the reason goes to the client; the logs stored so far stay
        log.exception("KCIDB import %s failed", pk)
        rows.update(status=KcidbImport.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                    finished=timezone.now())
        return "failed"
    if created and job.uploaded_token_id:
        Log.objects.filter(pk__in=[entry.pk for entry in created]).update(uploaded_token=job.uploaded_token_id)
    rows.update(status=KcidbImport.Status.DONE, result=result.to_dict(), finished=timezone.now())
    return "done"


def as_dict(job: KcidbImport, absolute) -> dict:
    """What the API answers about an import: its state and each test's outcome so far."""
    result = job.result or {}
    tests = [{**t, "url": absolute(f"/logs/{t['log']}/")} if t.get("log") else t for t in result.get("tests", [])]
    return {"id": job.pk, "status": job.status, "url": absolute(f"/api/kcidb/imports/{job.pk}/"),
            "tests_submitted": len(job.submission.get("tests", [])), "counts": result.get("counts", {}),
            "tests": tests, "error": job.error, "created": job.created, "finished": job.finished}
