"""Decoding that is never stuck "queued": a log's decode is sent under a token, and a sweeper sends it
again when its message was lost.

A log's crashes are queued for decoding when the log is analysed with a build at hand, or when its
build gets indexed. The message can be lost like any other: a worker killed with -9 after taking it
(Redis gives an unacknowledged message back only after its visibility timeout, most of an hour), a
broker restarted without its data, a broker down when it was sent. `sweep()`, run by beat every
TRIAGE_SWEEP_INTERVAL seconds, finds logs with crashes still queued and no sign of their decode
(`Log.decode_beat`: queued, taken by a worker, or its heartbeat) for TRIAGE_DECODE_STALE_AFTER seconds:

- taken by a worker (its token cleared) and no heartbeat since: the worker died; sent again at once;
- never taken: sent again once the broker's queue is empty (until then it may be waiting its turn).

Each re-send takes a fresh token, so a copy of the old message that turns up later runs nothing. Past
TRIAGE_DECODE_MAX_REQUEUES re-sends without a decode finishing, the crashes are marked failed with the
reason instead of going round forever (re-analysing the log or re-indexing its build queues them
again). Two sweepers (two beats, a sweep run by hand) never send one decode twice: a row is taken by
a conditional UPDATE on the token and beat it was read with, which only one of them can win.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from triage.models import Crash, Log
from triage.queueing import queue_length, send, send_on_commit

log = logging.getLogger(__name__)
BATCH = 500  # logs looked at per sweep; the next sweep, TRIAGE_SWEEP_INTERVAL later, takes the rest


def queue_decodes(log_ids: list[int]) -> None:
    """Mark the crashes of these logs queued for decoding and send one task per log after commit."""
    from workers.tasks import decode_log

    if not log_ids:
        return
    token = uuid.uuid4().hex  # one for the batch: a message is matched by its log and token together
    Log.objects.filter(pk__in=log_ids).update(decode_token=token, decode_beat=timezone.now(), decode_requeues=0)
    Crash.objects.filter(log__in=log_ids).update(decode_status=Crash.Decode.QUEUED, decode_error="")
    for pk in log_ids:
        send_on_commit(decode_log, pk, token)


def claim_decode(log_id: int, token: str | None) -> bool:
    """Take the log's decode for this message: False when the message is stale (re-sent since, or
    another copy already took it). A call without a token (by hand, tests, old messages) always runs."""
    rows = Log.objects.filter(pk=log_id)
    if token is not None:
        rows = rows.filter(decode_token=token)
    return bool(rows.update(decode_token="", decode_beat=timezone.now()))


def gave_up_message(requeues: int) -> str:
    return (f"decoding was sent again {requeues} times and never finished (workers lost, or the broker "
            "lost the message): analyse the log again, or index its build again, to retry")


def sweep() -> dict[str, int]:
    """Re-send lost decodes (see the module's docstring): how many were sent again and how many gave up."""
    from workers.tasks import decode_log

    now = timezone.now()
    stale = now - timedelta(seconds=settings.TRIAGE_DECODE_STALE_AFTER)
    queued = Crash.objects.filter(log=OuterRef("pk"), decode_status=Crash.Decode.QUEUED)
    stuck = Log.objects.filter(Q(decode_beat__lt=stale) | Q(decode_beat=None)).filter(Exists(queued))
    if queue_length(decode_log) != 0:  # a backlog (or the broker cannot say): only dead workers' decodes
        stuck = stuck.filter(decode_token="")
    sent = failed = 0
    for pk, token, beat, requeues in stuck.order_by("pk").values_list(
            "pk", "decode_token", "decode_beat", "decode_requeues")[:BATCH]:
        # Unchanged since read: no other sweeper took it, no worker started it, no new queuing.
        mine = Log.objects.filter(pk=pk, decode_token=token, decode_beat=beat)
        if requeues >= settings.TRIAGE_DECODE_MAX_REQUEUES:
            with transaction.atomic():
                if not mine.update(decode_token="", decode_beat=now, decode_requeues=0):
                    continue
                Crash.objects.filter(log_id=pk, decode_status=Crash.Decode.QUEUED).update(
                    decode_status=Crash.Decode.FAILED, decode_error=gave_up_message(requeues))
            failed += 1
            continue
        fresh = uuid.uuid4().hex
        if not mine.update(decode_token=fresh, decode_beat=now, decode_requeues=F("decode_requeues") + 1):
            continue
        if not send(decode_log, pk, fresh):
            # The broker is down: as it was, so the next sweep tries again without counting this one.
            Log.objects.filter(pk=pk, decode_token=fresh).update(decode_token=token, decode_beat=beat,
                                                                   decode_requeues=requeues)
            break
        sent += 1
    if sent or failed:
        log.info("decode sweeper: %d sent again, %d given up", sent, failed)
    return {"sent": sent, "failed": failed}
