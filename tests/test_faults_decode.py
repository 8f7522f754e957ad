"""A crash decode taken by a worker that is then killed with -9 is decoded all the same.

Real servers and processes as in tests/test_faults.py: PostgreSQL, redis-server, gunicorn, beat and
Celery workers. Redis hands an unacknowledged message back only after its visibility timeout (most of
an hour here), so without the decode sweeper the crash would stay "queued" that long.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from tests.servers import wait_for
from tests.test_faults import Stack, big_log

pytestmark = pytest.mark.slow


@pytest.fixture
def vmlinux(tmp_path):
    if shutil.which("gcc") is None or shutil.which("nm") is None:
        pytest.skip("gcc and binutils are needed to build the test vmlinux")
    from tests.triage.test_builds import SOURCE

    (tmp_path / "kernel.c").write_text(SOURCE)
    out = tmp_path / "vmlinux"
    subprocess.run(["gcc", "-g", "-O2", "-nostdlib", "-static", "-fno-stack-protector", "-Wl,--build-id",
                    str(tmp_path / "kernel.c"), "-o", str(out)], check=True)
    return out


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
        def held() -> bool:  # a decode message delivered to a worker and not acknowledged
            return any(b"workers.tasks.decode_log" in m for m in broker.hvals("unacked"))

        # The index worker queues the decode; the busy analysis worker takes its message and holds it.
        assert wait_for(lambda: decode_status() == "queued" and broker.llen("analysis") == 0 and held(),
                        60, step=0.05), (decode_status(), broker.llen("analysis"))
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
