"""Fault tests against real servers these tests start: a throwaway PostgreSQL cluster (initdb), a
redis-server on a free port, and the app's own gunicorn, Celery worker and beat (the sweeper) on them.

Each test ends with every stored log analysed exactly once (the worker logs "analysed log N" once per
log), nothing queued or running, and no stored file without its row. Dead processes are started again
the way `./run` and compose's restart policy do, and the test says which died.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import fixture_log
from tests.servers import ROOT, App, PostgresCluster, RedisServer, wait_for

pytestmark = pytest.mark.slow


class Stack:
    def __init__(self, work: Path, env: dict[str, str] | None = None) -> None:
        self.work = work
        self.pg = PostgresCluster(work)
        self.pg.start()
        self.pg.create_database()
        self.redis = RedisServer(work)
        self.redis.start()
        self.app = App(work, {
            "DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url, "TRIAGE_VAR_DIR": str(work / "var"),
            "TRIAGE_STORAGE_DIR": str(work / "storage"), "SECRET_KEY": uuid.uuid4().hex * 2, "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "DB_CONN_MAX_AGE": "0", "TRIAGE_S3_BUCKET": "",
            # seconds instead of minutes, so that the sweeper's rescue fits in a test
            "TRIAGE_HEARTBEAT_INTERVAL": "1", "TRIAGE_STALE_AFTER": "6", "TRIAGE_SWEEP_INTERVAL": "2",
            "TRIAGE_REQUEUE_AFTER": "4", **(env or {}),
        })
        self.app.manage("migrate", "--noinput")
        code = ("from django.contrib.auth import get_user_model; from triage.tokens import create_token; "
                "u = get_user_model().objects.create(username='bot'); "
                "print(create_token(u, 'ci', ['upload', 'read'])[1])")
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.app.env,
                             capture_output=True, text=True, check=True).stdout
        self.token = out.strip().splitlines()[-1]
        self.app.start_web()
        self.app.start_beat()
        self.app.start_worker()
        self.died: list[str] = []
        self.refused: list[int] = []  # answers of uploads refused during an outage (then retried)

    def close(self) -> None:
        self.app.stop_all()
        self.redis.stop()
        self.pg.remove()

    def upload(self, data: bytes, endpoint: str = "logs", file_field: str = "file", filename: str = "dmesg.txt",
               **fields: str) -> tuple[int, dict]:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                     "Content-Type: text/plain\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(f"{self.app.url}/api/{endpoint}/", data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                import json

                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {"error": exc.read()[:500].decode(errors="replace"),
                              "retry_after": exc.headers.get("Retry-After")}
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            return 0, {"error": str(exc)}

    def upload_until_stored(self, data: bytes, **fields: str) -> dict:
        """A CI bot's upload: retried after a 503 (or a refused connection) until it is stored."""
        for _ in range(120):
            status, body = self.upload(data, **fields)
            if status in (200, 201):
                return body
            assert status in (0, 502, 503), (status, body)  # an outage, said plainly; never a 500
            if status == 503:
                assert body["retry_after"], body
            self.refused.append(status)
            time.sleep(1)
        raise AssertionError(f"never stored: {body}")

    def logs(self) -> list[tuple]:
        return self.pg.query("SELECT id, status, attempts, raw, error FROM triage_log ORDER BY id")

    def settle(self, timeout: float = 240) -> None:
        """Wait until no log is queued or running, starting again any process that died."""
        def settled() -> bool:
            self.died += self.app.revive()
            return all(status not in ("queued", "running") for _, status, *_ in self.logs())

        assert wait_for(settled, timeout, step=1), self.logs()

    def check_nothing_lost(self, expected: int) -> None:
        logs = self.logs()
        assert len(logs) == expected
        assert all(status == "done" for _, status, *_ in logs), logs
        assert all(attempts == 0 for _, _, attempts, *_ in logs), logs
        analysed = Counter(int(n) for n in re.findall(r"analysed log (\d+)", self.app.log_text("worker")))
        assert {pk: analysed[pk] for pk, *_ in logs} == {pk: 1 for pk, *_ in logs}, "analysed more than once"
        stored = {p.relative_to(self.work / "storage").as_posix()
                  for p in (self.work / "storage" / "logs").rglob("*") if p.is_file()}
        assert stored == {raw for _, _, _, raw, _ in logs}, "a stored file without its row, or the reverse"


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    yield stack
    stack.close()
    print("processes that died and were started again:", stack.died or "none")
    for line in stack.app.log_text("worker").splitlines():
        if "Unrecoverable" in line or "AttributeError" in line:
            print("worker:", line)


def distinct_log(n: int, base: bytes) -> bytes:
    return base + f"[ 999.{n:06d}] run {n}\n".encode()


def big_log(reports: int) -> bytes:
    """A log that keeps a worker busy for a few seconds (many reports, most counted, not stored)."""
    warning = ("[  {t}.000000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:{n} foo_{n}+0x1/0x2\n"
               "[  {t}.000001] Modules linked in:\n[  {t}.000002] ---[ end trace 0000000000000000 ]---\n")
    return "".join(warning.format(t=100 + n, n=n) for n in range(reports)).encode()


def test_a_worker_killed_with_sigkill_mid_analysis_then_a_new_worker(stack):
    stack.upload_until_stored(big_log(20000), run_id="big")
    assert wait_for(lambda: any(s == "running" for _, s, *_ in stack.logs()), 60, step=0.05), stack.logs()
    stack.app.kill("worker", signal.SIGKILL)  # the whole worker: main process and pool children
    for n in range(3):
        stack.upload_until_stored(distinct_log(n, fixture_log("x86_64-WARNING.log")))
    stack.app.start_worker()
    stack.settle()
    stack.check_nothing_lost(4)


def test_redis_stopped_and_restarted_during_uploads(stack):
    base = fixture_log("x86_64-READ_AFTER_FREE.log")
    answers = []

    def outage() -> None:
        stack.redis.stop()
        time.sleep(12)
        stack.redis.start()

    answers.append(stack.upload_until_stored(distinct_log(99, base)))  # a warm web server first
    breaker = threading.Thread(target=outage)
    breaker.start()
    for n in range(15):
        started = time.monotonic()
        answers.append(stack.upload_until_stored(distinct_log(n, base)))
        print("upload", n, answers[-1].get("queued"), f"{time.monotonic() - started:.2f} s")
        time.sleep(0.3)
    breaker.join()
    # Each upload during the outage was stored and queued later, or refused with a 503 (and retried).
    assert any(a["queued"] == "later" for a in answers) or 503 in stack.refused, "no upload met the outage"
    stack.settle()
    stack.check_nothing_lost(16)


def test_postgresql_restarted_during_uploads(stack):
    base = fixture_log("x86_64-WARNING.log")

    def outage() -> None:
        stack.pg.stop()
        time.sleep(5)
        stack.pg.start()

    stack.upload_until_stored(distinct_log(99, base))  # a warm web server first
    breaker = threading.Thread(target=outage)
    breaker.start()
    for n in range(15):
        stack.upload_until_stored(distinct_log(n, base), run_id=str(n))
        time.sleep(0.3)
    breaker.join()
    assert stack.refused, "no upload met the outage"
    stack.settle()
    stack.check_nothing_lost(16)
