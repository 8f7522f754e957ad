"""No crash stays "queued" for decoding when its message is lost: the decode sweeper sends it again,
once, and gives up with the reason when it never finishes.

The broker is a real redis-server started for this module (stopped to play an outage), the worker a
real Celery worker thread on it, the database the configured one (PostgreSQL in CI). A lost message
is made the way it happens: sent while the broker is down, or purged from the broker's queue (a broker
restarted without its data). A worker killed with -9 is in tests/test_faults_decode.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import fixture_log
from tests.servers import wait_for
from tests.triage.factories import make_log
from tests.triage.test_builds import crash_log, upload_build
from tests.triage.test_queueing import broker, up, worker  # noqa: F401 (fixtures)
from triage.decode_queue import queue_decodes, sweep
from triage.models import Build, Crash, Log
from triage.queueing import queue_length
from workers.celery_app import app
from workers.tasks import analyze_log, decode_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("up")]


def analysed(data: bytes = b"") -> Log:
    log = make_log(data or fixture_log("x86_64-WARNING.log"))
    app.control.purge()  # its analysis message: run here instead
    assert analyze_log(log.pk) == "done"
    assert Crash.objects.filter(log=log).exists()
    return log


def lost(log: Log, minutes: int = 10) -> None:
    """The log's decode message is gone (purged from the broker) and nothing was heard of it since."""
    app.control.purge()
    Log.objects.filter(pk=log.pk).update(decode_beat=timezone.now() - timedelta(minutes=minutes))


def statuses(log: Log) -> set[str]:
    return set(Crash.objects.filter(log=log).values_list("decode_status", flat=True))


def test_a_decode_queued_while_the_broker_was_down_is_sent_again_and_decoded(up, vmlinux):  # noqa: F811
    with worker():
        assert upload_build(vmlinux.read_bytes(), "vmlinux").status_code == 201
        assert wait_for(lambda: Build.objects.get().index_status == Build.Index.READY, 60)
        log = make_log(crash_log(vmlinux), commit="abc")
        assert wait_for(lambda: statuses(log) == {"done"}, 60), statuses(log)
    up.stop()
    queue_decodes([log.pk])  # the build is indexed again, say: the message cannot be sent
    up.start()
    assert statuses(log) == {"queued"}
    assert sweep() == {"sent": 0, "failed": 0}, "not stale yet"
    lost(log)
    with worker():
        assert sweep()["sent"] == 1
        assert wait_for(lambda: statuses(log) == {"done"}, 60), statuses(log)
    crash = Crash.objects.get(log=log, index=0)
    assert "kernel.c:" in crash.decoded["text"]
    assert Log.objects.get(pk=log.pk).decode_requeues == 0  # a decode finished: the count starts again


def test_a_stale_copy_of_a_decode_message_runs_nothing():
    log = analysed()
    queue_decodes([log.pk])
    old = Log.objects.get(pk=log.pk).decode_token
    lost(log)
    assert sweep()["sent"] == 1
    fresh = Log.objects.get(pk=log.pk).decode_token
    assert fresh and fresh != old
    assert decode_log(log.pk, old) == "taken"  # Redis gave the lost message back after all
    assert statuses(log) == {"queued"}
    assert decode_log(log.pk, fresh) == "done"
    assert decode_log(log.pk, fresh) == "taken"
    assert statuses(log) == {"waiting"}  # no build: decoded as far as it can be


def test_a_decode_that_never_finishes_fails_with_the_reason_instead_of_looping(settings):
    settings.TRIAGE_DECODE_MAX_REQUEUES = 2
    log = analysed()
    queue_decodes([log.pk])
    for _ in range(2):
        lost(log)
        assert sweep() == {"sent": 1, "failed": 0}
    lost(log)
    assert sweep() == {"sent": 0, "failed": 1}
    crashes = Crash.objects.filter(log=log)
    assert {c.decode_status for c in crashes} == {"failed"}
    assert all("sent again 2 times and never finished" in c.decode_error for c in crashes)
    lost(log)
    assert sweep() == {"sent": 0, "failed": 0}  # failed is final until someone queues it again


def test_live_and_waiting_decodes_are_left_alone():
    log = analysed()
    queue_decodes([log.pk])
    assert decode_log.name and queue_length(decode_log) == 1
    lost(log)
    queue_decodes([analysed(fixture_log("x86_64-READ_AFTER_FREE.log")).pk])  # a message waits in the queue
    assert sweep()["sent"] == 0, "never taken, and the queue has a backlog: it may be waiting its turn"
    Log.objects.filter(pk=log.pk).update(decode_token="", decode_beat=timezone.now())  # taken, heartbeat now
    assert sweep()["sent"] == 0
    Log.objects.filter(pk=log.pk).update(decode_beat=timezone.now() - timedelta(minutes=10))  # its worker died
    assert sweep()["sent"] == 1, "a dead worker's decode is sent again even behind a backlog"


def test_several_sweepers_at_once_send_each_lost_decode_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent sweepers need a database that several connections share (PostgreSQL)")
    logs = [analysed(fixture_log("x86_64-WARNING.log") + f"[ 999.0] run {n}\n".encode()) for n in range(8)]
    queue_decodes([log.pk for log in logs])
    for log in logs:
        lost(log)
    results, start = [], threading.Barrier(4)

    def sweeper() -> None:
        start.wait()
        try:
            results.append(sweep()["sent"])
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(results) == len(logs), results
    assert queue_length(decode_log) == len(logs)  # one message each in the broker
    assert set(Log.objects.filter(pk__in=[log.pk for log in logs]).values_list("decode_requeues", flat=True)) == {1}
