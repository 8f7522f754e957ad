"""Queuing work so that none is lost or done twice, whatever happens to the broker or a worker.

Each time a row (a log to analyse, a build to index) is queued it gets a fresh token, the time it
was queued, and its task message carries the token. A task starts only by moving its row from
"queued" to "running" under that token, so a message sent twice (a retried upload, the sweeper, a
message Redis restored) runs once. A running task beats its row's heartbeat; `sweep()`, run by beat
every TRIAGE_SWEEP_INTERVAL seconds, re-sends rows whose task is gone:

- running (or indexing) with no heartbeat for TRIAGE_STALE_AFTER seconds: the worker died (kill -9,
  out of memory, machine lost); the row goes back to queued and each restart counts against the
  task's attempts limit (workers.tasks.MAX_ATTEMPTS), so a file that kills every worker ends failed;
- queued for TRIAGE_REQUEUE_AFTER seconds and never started: the message was never sent (broker down
  at upload time) or was lost with the broker's data. Re-sending keeps the token: whichever copy
  arrives first runs, the other finds the row taken.

A broker error while sending never fails the request or the finished work that sent it: the row
stays queued and the sweeper sends it later.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import ChannelError

log = logging.getLogger(__name__)


class Queued:
    """What became of a queuing: `sent` is True/False once the message was handed to the broker (or
    not), None while it waits for the surrounding transaction to commit."""

    sent: bool | None = None


def send(task, *args, **options) -> bool:
    """Hand a task to the broker; False (logged) when the broker cannot be reached."""
    try:
        task.apply_async(args=args, retry_policy=settings.TRIAGE_PUBLISH_RETRY_POLICY, **options)
    except Exception as exc:  # kombu OperationalError, redis ConnectionError, socket errors...
        log.warning("could not queue %s%r: %s (the sweeper sends it later)", task.name, args, exc)
        return False
    return True


def send_on_commit(task, *args, **options) -> Queued:
    """Send once the current transaction commits (workers must see the rows): never raises."""
    queued = Queued()

    def go() -> None:
        queued.sent = send(task, *args, **options)

    transaction.on_commit(go)
    return queued


def status_fields(model) -> tuple[str, str, str]:
    """(status field, queued value, running value) of a queued model."""
    from triage.models import Build, KcidbImport, Log

    if model is Log:
        return "status", Log.Status.QUEUED, Log.Status.RUNNING
    if model is Build:
        return "index_status", Build.Index.QUEUED, Build.Index.BUILDING
    if model is KcidbImport:
        return "status", KcidbImport.Status.QUEUED, KcidbImport.Status.RUNNING
    raise TypeError(model)


def queue(row, task, **extra) -> Queued:
    """Mark a row queued under a fresh token and send its task after commit."""
    field, queued, _ = status_fields(type(row))
    token = uuid.uuid4().hex
    type(row).objects.filter(pk=row.pk).update(**{field: queued}, task_token=token, queued_at=timezone.now(),
                                               heartbeat=None, **extra)
    setattr(row, field, queued)
    row.task_token = token
    return send_on_commit(task, row.pk, token)


def claim(model, pk: int, token: str | None) -> bool:
    """Move the row from queued to running for this message; False when another copy has it (or had
    it). A call without a token (by hand, tests) always runs."""
    field, queued, running = status_fields(model)
    rows = model.objects.filter(pk=pk)
    if token is not None:
        rows = rows.filter(**{field: queued}, task_token=token)
    return bool(rows.update(**{field: running}, heartbeat=timezone.now()))


class Heartbeat:
    """Beat a running row's heartbeat from a thread while the task works (a task may spend minutes in
    one engine call); the sweeper takes a row without beats for its dead worker's."""

    def __init__(self, model, pk: int, field: str = "heartbeat") -> None:
        self.rows = model.objects.filter(pk=pk)
        self.field = field  # Log.decode_beat for a decode (triage.decode_queue)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"heartbeat-{model.__name__}-{pk}", daemon=True)

    def run(self) -> None:
        try:
            while not self.stop.wait(settings.TRIAGE_HEARTBEAT_INTERVAL):
                try:
                    self.rows.update(**{self.field: timezone.now()})
                except Exception as exc:  # the database is restarting: beat again next time
                    log.warning("heartbeat failed: %s", exc)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> Heartbeat:
        if not (connection.vendor == "sqlite" and connection.is_in_memory_db()):  # a thread sees another one
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)


def queue_length(task) -> int | None:
    """Messages waiting in the broker queue the task goes to; None when the broker cannot say."""
    app = task.app
    try:
        name = app.amqp.router.route({}, task.name)["queue"].name
        with app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=name, passive=True).message_count
    except ChannelError as exc:
        if "NOT_FOUND" in str(exc):  # no worker declared it yet: nothing waits in it
            return 0
        log.warning("cannot count the messages of %s: %s", task.name, exc)
        return None
    except Exception as exc:
        log.warning("cannot count the messages of %s: %s", task.name, exc)
        return None


def sweep() -> dict[str, int]:
    """Re-send the rows whose task is gone (see the module's docstring); how many, per model."""
    from triage.models import Build, KcidbImport, Log
    from workers.tasks import analyze_log, import_kcidb, index_build

    now = timezone.now()
    dead = now - timedelta(seconds=settings.TRIAGE_STALE_AFTER)
    unsent = now - timedelta(seconds=settings.TRIAGE_REQUEUE_AFTER)
    done = {}
    for model, task in ((Log, analyze_log), (Build, index_build), (KcidbImport, import_kcidb)):
        field, queued, running = status_fields(model)
        # A dead worker's row: back to queued, same attempts count (the next start adds one).
        stale = model.objects.filter(Q(heartbeat__lt=dead) | Q(heartbeat=None, queued_at__lt=dead),
                                     **{field: running})
        for pk in stale.values_list("pk", flat=True):
            model.objects.filter(pk=pk, **{field: running}).filter(
                Q(heartbeat__lt=dead) | Q(heartbeat=None)).update(**{field: queued}, queued_at=None)
        # Revived rows (queued_at None) are sent at once: their message sits unacknowledged with the
        # dead worker. Rows queued long ago and never started are sent again only once the broker's
        # queue is empty: until then their message may simply be waiting its turn in a backlog.
        waiting = model.objects.filter(**{field: queued})
        if queue_length(task) == 0:
            waiting = waiting.filter(Q(queued_at__lt=unsent) | Q(queued_at=None))
        else:
            waiting = waiting.filter(queued_at=None)
        count = 0
        for pk, token in waiting.values_list("pk", "task_token"):
            if not token:
                token = uuid.uuid4().hex
                model.objects.filter(pk=pk).update(task_token=token)
            if not model.objects.filter(pk=pk, **{field: queued}).update(queued_at=now):
                continue
            if send(task, pk, token):
                count += 1
            else:
                model.objects.filter(pk=pk).update(queued_at=F("queued_at") - timedelta(
                    seconds=settings.TRIAGE_REQUEUE_AFTER))  # try again at the next sweep
                break  # the broker is down: the next sweep tries again
        done[model.__name__.lower()] = count
    if any(done.values()):
        log.info("sweeper re-sent %s", done)
    return done
