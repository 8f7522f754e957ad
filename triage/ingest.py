"""Storing an upload: stream to a local spool file while hashing, check it, store it, then one row,
then queue the task.

The raw bytes land in storage (triage.storage: a local folder or object storage) under their sha256
before any row points at them, and a rejected upload leaves nothing behind, so a crash or a bad file
never leaves a half-stored log.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction

from triage import storage
from triage.models import Log
from triage.queueing import Queued, queue, send_on_commit

# Formats people upload by mistake instead of a console log: say what it is rather than "garbage".
MAGIC = {
    b"\x7fELF": "an ELF binary (upload kernel builds on the Builds page)",
    b"\x1f\x8b": "a gzip file (decompress it first)",
    b"\xfd7zXZ\x00": "an xz file (decompress it first)",
    b"\x28\xb5\x2f\xfd": "a zstd file (decompress it first)",
    b"PK\x03\x04": "a zip file",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
}
SNIFF_BYTES = 64 * 1024
MAX_BINARY_RATIO = 0.10


class RejectedUpload(ValueError):
    """The upload is not something triage can store; the message is for the user."""


MULTIPART_OVERHEAD = 1024 * 1024  # the form fields and multipart framing around the file


def body_too_large(request, limit: int) -> str | None:
    """Refuse an oversized upload from its Content-Length, before Django spools the body to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > limit + MULTIPART_OVERHEAD:
        return f"the upload is larger than the limit of {limit // (1024 * 1024)} MiB"
    return None


def looks_binary(head: bytes) -> str | None:
    """Why `head` (the first bytes of an upload) is not a console log, or None if it may be one.

    Serial consoles do print some NULs and line noise, so only a high share of bytes that are
    neither text nor UTF-8 counts as binary."""
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return f"this is {what}, not a console log"
    text = head.decode("utf-8", "replace")
    if not text:
        return None
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\x1b\x00\x07\x08\x0c"))
    if bad / len(text) > MAX_BINARY_RATIO:
        return f"this looks like binary data ({100 * bad // len(text)}% of the first bytes are not text), not a console log"
    return None


def fingerprint(sha256: str, metadata: dict[str, str]) -> str:
    # `parent` only when given: uploads from before it existed keep their fingerprints
    meta = json.dumps({k: metadata.get(k, "") for k in Log.METADATA if k != "parent" or metadata.get(k)},
                      sort_keys=True)
    return hashlib.sha256(f"{sha256}\n{meta}".encode()).hexdigest()


def raw_path(sha256: str) -> str:
    return f"logs/{sha256[:2]}/{sha256}"


def store_log(chunks: Iterable[bytes], filename: str, metadata: dict[str, str], user=None) -> tuple[Log, bool]:
    """Store an uploaded log and queue its analysis; (log, created). Raises RejectedUpload.

    `log.queued` tells whether the task reached the broker (triage.queueing.Queued)."""
    limit = settings.TRIAGE_MAX_LOG_BYTES
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp_name = tempfile.mkstemp(dir=storage.spool_dir(), prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise RejectedUpload(f"the log is larger than the limit of {limit // (1024 * 1024)} MiB")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise RejectedUpload("the log is empty")
        reason = looks_binary(head)
        if reason:
            raise RejectedUpload(reason)
        sha = digest.hexdigest()
        fp = fingerprint(sha, metadata)
        existing = Log.objects.filter(fingerprint=fp).first()
        if existing:
            existing.queued = requeue_stuck(existing)
            return existing, False
        raw = raw_path(sha)
        new_file = not default_storage.exists(raw)
        if new_file:
            raw = storage.put_file(raw, Path(tmp_name))  # all of the file or none (see put_file)
        fields = {k: str(metadata.get(k) or "")[: Log._meta.get_field(k).max_length] for k in Log.METADATA}
        try:
            with transaction.atomic():
                log = Log.objects.create(fingerprint=fp, sha256=sha, size=size, raw=raw,
                                         filename=Path(filename or "").name[:255], uploaded_by=user, **fields)
        except IntegrityError:  # the same upload raced us from another process
            existing = Log.objects.get(fingerprint=fp)
            existing.queued = None
            return existing, False
        except DatabaseError:  # the database went away: no row, so no file either (no orphan)
            if new_file:
                default_storage.delete(raw)
            raise
        log.queued = queue_analysis(log)
        return log, True
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def queue_analysis(log: Log) -> Queued:
    """Mark the log queued and send the task once the row is committed (workers must see it); a
    broker that cannot be reached leaves it queued for the sweeper (triage.queueing)."""
    from workers.tasks import analyze_log

    log.error = ""
    return queue(log, analyze_log, error="", attempts=0)


def requeue_stuck(log: Log) -> Queued | None:
    """A re-upload of a log whose first queuing never reached a worker sends it again (same token:
    if the first message does arrive, only one of them runs)."""
    from workers.tasks import analyze_log

    if log.status != Log.Status.QUEUED:
        return None
    if not log.task_token:
        return queue_analysis(log)
    return send_on_commit(analyze_log, log.pk, log.task_token)


def read_raw(log: Log) -> bytes:
    return storage.read_bytes(log.raw)


MAX_SHOWN_LINE = 4096  # bytes of one line on a page; the raw file has all of it


def read_lines(log: Log, stop: int, start: int = 0) -> tuple[list[str], bool]:
    """The log's lines start..stop-1 (numbered as workers.report.log_lines does) and whether there
    are more: pages show a window of a log without reading all of a large one, and a line without end
    (a binary blob, a console that never sent a newline) costs at most MAX_SHOWN_LINE bytes."""
    lines: list[str] = []
    n = 0
    pending = b""  # the start of the line being read (a line may span many chunks)

    def text(raw: bytes) -> str:
        return raw[:MAX_SHOWN_LINE].decode("utf-8", "replace").removesuffix("\r").replace("\x00", "")

    for chunk in storage.iter_chunks(log.raw):  # split on b"\n" only, like log_lines
        *whole, rest = chunk.split(b"\n")
        for piece in whole:
            if n == stop:
                return lines, True
            if n >= start:
                lines.append(text(pending + piece[:MAX_SHOWN_LINE]))
            pending, n = b"", n + 1
        if rest and len(pending) < MAX_SHOWN_LINE:
            pending += rest[:MAX_SHOWN_LINE]
    if pending:
        if n == stop:
            return lines, True
        if n >= start:
            lines.append(text(pending))
    return lines, False
