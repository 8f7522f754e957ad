"""A crash decode taken by a worker that is then killed with -9 is decoded all the same.

Real servers and processes as in tests/test_faults.py: PostgreSQL, redis-server, gunicorn, beat and
Celery workers. Redis hands an unacknowledged message back only after its visibility timeout (most of
an hour here), so without the decode sweeper the crash would stay "queued" that long.

Indexing a build queues its waiting crashes' decode twice, by design (triage.decoding.index): once
from a lazy index as soon as the vmlinux is read, and again, under a fresh token, when the index task
ends. The worker is killed only once the second message, the one whose token is current, is held: if
it were killed between the two, the new worker would simply take the second message from the queue
and decode without the sweeper (a CI run did that once).
"""

from __future__ import annotations

import base64
import json
import signal

import pytest

from tests.servers import wait_for
from tests.test_faults import Stack, big_log

pytestmark = pytest.mark.slow



def held_decode_tokens(broker) -> list[str]:
    """The tokens of the decode messages delivered to a worker and not acknowledged (kombu keeps
    each as [message, exchange, routing key] in the `unacked` hash, its body base64-encoded)."""
    tokens = []
    for raw in broker.hvals("unacked"):
        message = json.loads(raw)[0]
        if message["headers"]["task"] == "workers.tasks.decode_log":
            args = json.loads(base64.b64decode(message["body"]))[0]
            tokens.append(args[1])
    return tokens


def test_a_decode_held_by_a_worker_killed_with_sigkill_is_sent_again_and_decoded(tmp_path, vmlinux):
    import redis

    from tests.triage.test_builds import crash_log

    (tmp_path / "stack").mkdir()
    stack = Stack(tmp_path / "stack", {"TRIAGE_DECODE_STALE_AFTER": "4"})
    try:
        broker = redis.Redis(port=stack.redis.port)
        # Index builds and sweeps on one worker; analysis and decoding on another, which reserves
        # messages while it is busy (as any worker with a prefetch does).
        stack.app.kill("worker")
        stack.app.start_worker("worker-index", 1, "-Q", "index,periodic")
        stack.app.start_worker("worker", 1, "-Q", "analysis", "--prefetch-multiplier", "4")
        log = stack.upload_until_stored(crash_log(vmlinux), run_id="crash")["id"]  # no build yet: waiting

        def decode_status() -> str:
            return stack.pg.query("SELECT decode_status FROM triage_crash WHERE log_id = %s", log)[0][0]

        assert wait_for(lambda: decode_status() == "waiting", 90), stack.logs()
        big = stack.upload_until_stored(big_log(60000), run_id="big")["id"]
        assert wait_for(lambda: ("running",) in stack.pg.query("SELECT status FROM triage_log WHERE id = %s", big),
                        60, step=0.05), stack.logs()
        status, body = stack.upload(vmlinux.read_bytes(), endpoint="builds", file_field="vmlinux", filename="vmlinux")
        assert status == 201, body

        def indexed() -> bool:  # the index task is over (acknowledged), so it queues nothing more
            unacked = broker.hvals("unacked")
            return (stack.pg.query("SELECT index_status FROM triage_build") == [("ready",)]
                    and broker.llen("index") == 0 and not any(b"workers.tasks.index_build" in m for m in unacked))

        def held() -> bool:  # the decode message with the log's current token, delivered and not acknowledged
            token = stack.pg.query("SELECT decode_token FROM triage_log WHERE id = %s", log)[0][0]
            return bool(token) and token in held_decode_tokens(broker)

        # The index worker queues the decode (twice); the busy analysis worker takes the messages and holds them.
        assert wait_for(lambda: indexed() and decode_status() == "queued" and broker.llen("analysis") == 0
                        and held(), 60, step=0.05), (decode_status(), broker.llen("analysis"), indexed())
        assert stack.pg.query("SELECT status FROM triage_log WHERE id = %s", big) == [("running",)], \
            "the big log finished before the decode was queued: the worker never held the decode"
        stack.app.kill("worker", signal.SIGKILL)
        assert held() and broker.llen("analysis") == 0  # with the dead worker, until the visibility timeout
        stack.app.start_worker("worker", 1, "-Q", "analysis")
        assert wait_for(lambda: decode_status() == "done", 120, step=1), (decode_status(), stack.logs())
        stack.settle()
        stack.check_nothing_lost(2)
        assert stack.pg.query("SELECT decode_requeues, decode_attempts FROM triage_log WHERE id = %s", log) == [(0, 0)]
        assert "decode sweeper: 1 sent again" in stack.app.log_text("worker-index")
    finally:
        stack.close()
