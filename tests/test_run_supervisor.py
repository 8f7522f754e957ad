"""`./run` keeps the app up: a child that dies (worker, web) is started again instead of ending it."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, logfile, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def children(pid: int) -> dict[int, str]:
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.splitlines() if line.strip()}


def child(pid: int, *words: str) -> int | None:
    return next((p for p, args in children(pid).items() if all(w in args for w in words)), None)


def healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return response.status == 200


def test_run_restarts_a_worker_killed_with_sigkill_and_a_dead_web_server(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(TRIAGE_PORT=str(port), TRIAGE_VAR_DIR=str(tmp_path / "var"), TRIAGE_DEMO="0", TRIAGE_WORKERS="1")
    run = subprocess.Popen(["./run"], cwd=ROOT, env=env, stdout=logfile(tmp_path / "run.log"),
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: healthy(port), 180), (tmp_path / "run.log").read_text()[-3000:]
        worker = child(run.pid, "celery_app worker")
        assert worker and child(run.pid, "celery_app beat"), children(run.pid)
        os.kill(worker, signal.SIGKILL)
        assert wait_for(lambda: child(run.pid, "celery_app worker") not in (None, worker), 30), \
            (tmp_path / "run.log").read_text()[-3000:]
        web = child(run.pid, "gunicorn")
        os.kill(web, signal.SIGKILL)
        assert wait_for(lambda: child(run.pid, "gunicorn") not in (None, web), 30)
        assert wait_for(lambda: healthy(port), 60)
        assert run.poll() is None, "./run stopped when a child died"
        assert "exited; starting it again" in (tmp_path / "run.log").read_text()
    finally:
        stop(run, signal.SIGTERM, timeout=60)
