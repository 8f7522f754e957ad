"""Real servers the fault tests start themselves: redis-server on a free port, a throwaway PostgreSQL
cluster (initdb), and the app's own processes (gunicorn, Celery worker, beat) pointed at them."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def logfile(path: Path):
    """An append-mode file for a child's output (the child keeps it open)."""
    return open(path, "ab")  # noqa: SIM115


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 60.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(step)
    return False


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process and its group (started with start_new_session)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class RedisServer:
    """redis-server on a free port, with appendonly so a restart keeps the queued messages."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=logfile(self.dir / "redis.log"), stderr=subprocess.STDOUT, start_new_session=True)
        assert wait_for(lambda: port_open(self.port), 20), "redis-server did not start"

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


class PostgresCluster:
    """A throwaway PostgreSQL cluster made with initdb, run as the postgres user when we are root."""

    def __init__(self, workdir: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL's initdb is not installed (Debian package postgresql)")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no 'postgres' user to run a PostgreSQL cluster")
        # Its own folder under /tmp: pytest's are private to root, and the server runs as postgres.
        self.base = Path(tempfile.mkdtemp(prefix="triage-pg-"))
        self.dir = self.base / "data"
        self.dir.mkdir()
        self.sockets = self.base
        self.log = workdir / "pg.log"
        for path in (self.base, self.dir):
            if self.user:
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True, **self._as_user())

    def _as_user(self) -> dict:
        if not self.user:
            return {}
        uid, gid = self.user.pw_uid, self.user.pw_gid
        return {"preexec_fn": lambda: (os.setgid(gid), os.setuid(uid)), "cwd": "/"}

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/triage"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.dir), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.sockets), "-c", "fsync=off", "-c", "max_connections=100"],
            stdout=logfile(self.log), stderr=subprocess.STDOUT, start_new_session=True,
            **self._as_user())
        assert wait_for(lambda: port_open(self.port), 30), "postgres did not start"

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE triage")

    def stop(self, mode: str = "fast") -> None:
        sig = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        stop(self.proc, sig)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def query(self, sql: str, *args) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as c:
            return c.execute(sql, args).fetchall()


class App:
    """The app's processes, as `./run` and compose start them, against the given servers."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.procs: dict[str, subprocess.Popen] = {}
        self.port = free_port()
        self.logs: dict[str, Path] = {}
        self.argv: dict[str, list[str]] = {}

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                       capture_output=True)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        self.argv[name] = argv
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=logfile(log), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str = "worker", concurrency: int = 2, *args: str) -> subprocess.Popen:
        """`args`: more worker options (-Q analysis, --prefetch-multiplier 4)."""
        return self.start(name, [str(BIN / "celery"), "-A", "workers.celery_app", "worker", "--loglevel=INFO",
                                 f"--concurrency={concurrency}", "-n", f"{name}-{os.getpid()}@%h",
                                 "--without-mingle", "--without-gossip", *args])

    def start_beat(self) -> subprocess.Popen:
        return self.start("beat", [str(BIN / "celery"), "-A", "workers.celery_app", "beat", "--loglevel=INFO",
                                   f"--schedule={self.workdir / 'beat-schedule'}"])

    def start_web(self) -> subprocess.Popen:
        proc = self.start("web", [str(BIN / "gunicorn"), "triage.wsgi", "--bind", f"127.0.0.1:{self.port}",
                                  "--workers", "2", "--timeout", "60"])
        assert wait_for(lambda: port_open(self.port), 30), "gunicorn did not start"
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        stop(proc, sig)

    def revive(self) -> list[str]:
        """Start again the processes that died, as `./run` and compose's restart policy do."""
        dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
        for name in dead:
            argv = self.argv[name]
            self.start(name, argv)
        return dead

    def stop_all(self) -> None:
        for name in list(self.procs):
            stop(self.procs.pop(name))

    def log_text(self, name: str) -> str:
        return "".join(p.read_text(errors="replace") for n, p in self.logs.items() if n.startswith(name))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
