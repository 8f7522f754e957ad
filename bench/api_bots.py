"""20 CI bots x 50 uploads each over the REST API against the production setup, on this machine:
gunicorn, PostgreSQL, Redis and two Celery workers. Reports uploads/s, p50/p99 latency, how long
the workers took to analyse them all, and whether every upload was analysed exactly once (Log.analyses
counted in the database). Loopback only; everything it starts it stops.

    .venv/bin/python bench/api_bots.py [--bots 20] [--uploads 50] [--web-workers 3]

BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/triage_bench, dropped and created) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/14, flushed) say where.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from workers.client import Server, multipart, request  # noqa: E402

VENV = ROOT / ".venv" / "bin"
LOG = ROOT / "tests" / "fixtures" / "logs" / "x86_64-READ_AFTER_FREE.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(db_url: str, sql: str) -> None:
    parts = urllib.parse.urlparse(db_url)
    subprocess.run(["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U",
                    parts.username or "postgres", "-d", "postgres", "-qc", sql], check=True, capture_output=True)


def manage(env: dict, *args: str) -> str:
    return subprocess.run([str(VENV / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


TOKENS = """
import json
from django.contrib.auth import get_user_model
from triage.tokens import create_token
keys = []
for i in range({bots}):
    user, _ = get_user_model().objects.get_or_create(username=f"bot{{i}}")
    keys.append(create_token(user, f"bench bot {{i}}", ["upload", "read"])[1])
print(json.dumps(keys))
"""

COUNT = """
import json
from django.db.models import Count
from triage.models import Log
rows = Log.objects.values("status", "analyses").annotate(n=Count("id")).order_by()
print(json.dumps([[r["status"], r["analyses"], r["n"]] for r in rows]))
"""


def counts(env: dict) -> list[list]:
    return json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bots", type=int, default=20)
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--web-workers", type=int, default=3)
    ap.add_argument("--drain-timeout", type=float, default=1200)
    args = ap.parse_args()

    db_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/triage_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    db_name = urllib.parse.urlparse(db_url).path.lstrip("/")
    tmp = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "DEBUG": "0",
           "SECRET_KEY": uuid.uuid4().hex * 2, "ALLOWED_HOSTS": "127.0.0.1", "TRIAGE_VAR_DIR": str(tmp / "var"),
           "TRIAGE_STORAGE_DIR": str(tmp / "storage"), "TRIAGE_API_RATE": "1000000/min",
           "DJANGO_SETTINGS_MODULE": "triage.settings"}
    psql(db_url, f"DROP DATABASE IF EXISTS {db_name}")
    psql(db_url, f"CREATE DATABASE {db_name}")
    subprocess.run([str(VENV / "python"), "-c", f"import redis; redis.Redis.from_url({redis_url!r}).flushdb()"],
                   check=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    keys = json.loads(manage(env, "shell", "-c", TOKENS.format(bots=args.bots)).strip().splitlines()[-1])

    children = []
    logs = open(tmp / "children.log", "w")  # noqa: SIM115 (closed at the end)
    try:
        children.append(subprocess.Popen(
            [str(VENV / "gunicorn"), "triage.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
             str(args.web_workers), "--timeout", "120"], cwd=ROOT, env=env, stdout=logs, stderr=logs))
        for n in (1, 2):
            children.append(subprocess.Popen(
                [str(VENV / "celery"), "-A", "workers.celery_app", "worker", "--concurrency", "1", "-n",
                 f"bench{n}@%h", "--loglevel", "WARNING"], cwd=ROOT, env=env, stdout=logs, stderr=logs))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        data = LOG.read_bytes()
        nonce = uuid.uuid4().hex[:8]
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def bot(n: int) -> None:
            server = Server(base, keys[n])
            for i in range(args.uploads):
                path = tmp / f"bot{n}-{i}.log"
                path.write_bytes(data + f"[ 9999.000000] bench {nonce} bot {n} upload {i}\n".encode())
                content_type, length, body = multipart({"commit": f"bench-{nonce}", "machine": f"bot{n}",
                                                        "run_id": str(i)}, [("file", path)])
                started = time.perf_counter()
                try:
                    status, _ = request(server, "POST", "/api/logs/", body=body, content_type=content_type,
                                        length=length, retries=3, backoff=0.5, log=open(os.devnull, "w"))  # noqa: SIM115
                    ok = status == 201
                except Exception as exc:  # counted, reported
                    ok, status = False, str(exc)[:200]
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(str(status))

        load_before = Path("/proc/loadavg").read_text().split()[:3]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.bots) as pool:
            list(pool.map(bot, range(args.bots)))
        upload_wall = time.perf_counter() - started
        load_uploads = Path("/proc/loadavg").read_text().split()[:3]
        total = args.bots * args.uploads
        deadline = time.monotonic() + args.drain_timeout
        while True:
            rows = counts(env)
            finished = sum(n for status, _a, n in rows if status in ("done", "failed"))
            if finished >= total - len(errors) or time.monotonic() > deadline:
                break
            time.sleep(2)
        drain = time.perf_counter() - started
        time.sleep(5)  # a duplicate delivery would show up here
        rows = counts(env)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        lat = sorted(latencies)
        once = sum(n for status, a, n in rows if status == "done" and a == 1)
        result = {
            "bots": args.bots, "uploads": total, "upload_errors": len(errors), "errors": errors[:5],
            "uploads_per_s": round(total / upload_wall, 1), "upload_wall_s": round(upload_wall, 1),
            "p50_ms": round(1000 * statistics.median(lat), 1), "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1),
            "all_analysed_after_s": round(drain, 1), "analysed_exactly_once": once,
            "rows_by_status_and_analyses": rows, "loadavg_before": load_before,
            "loadavg_after_uploads": load_uploads, "loadavg_end": load_after, "cores": os.cpu_count(),
        }
        print(json.dumps(result, indent=1))
        return 0 if once == total and not errors else 1
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        logs.close()
        psql(db_url, f"DROP DATABASE IF EXISTS {db_name}")


if __name__ == "__main__":
    raise SystemExit(main())
