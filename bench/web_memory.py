"""Peak memory of one gunicorn worker serving the heaviest pages: the page of the largest allowed log
(TRIAGE_MAX_LOG_BYTES of one-line WARNINGs: the most reports a log can hold) and the largest API
pages. Goal: under 200 MiB each. Run by hand: `.venv/bin/python bench/web_memory.py [--mib 64]`.

Uses DATABASE_URL when set (PostgreSQL), else a SQLite file in a temporary folder. Each page is
served by a fresh single-worker gunicorn, and its peak RSS (VmHWM) is read from /proc.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return 0


def worker_pid(master: int) -> int:
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return int(children.split()[0])


def get(url: str, headers: dict) -> tuple[int, int]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status, len(response.read())


def measure(env: dict, path: str, headers: dict) -> tuple[int, int, int, float]:
    """(baseline MiB, peak MiB, bytes, seconds) of one worker serving `path` once."""
    port = 18000 + os.getpid() % 1000
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "--bind",
                            f"127.0.0.1:{port}", "--workers", "1", "--timeout", "600"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                get(f"http://127.0.0.1:{port}/healthz", {})
                break
            except OSError:
                time.sleep(0.2)
        pid = worker_pid(web.pid)
        get(f"http://127.0.0.1:{port}/api/", headers)  # warm: imports, URL resolver, templates
        base = vm(pid, "VmRSS")
        started = time.monotonic()
        _, size = get(f"http://127.0.0.1:{port}{path}", headers)
        return base, vm(pid, "VmHWM"), size, time.monotonic() - started
    finally:
        web.terminate()
        web.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="size of the log (default: the upload limit)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="web-memory-"))
    env = {**os.environ, "TRIAGE_VAR_DIR": str(work), "TRIAGE_STORAGE_DIR": str(work / "storage"),
           "TRIAGE_PUBLIC_READ": "1", "DJANGO_SETTINGS_MODULE": "triage.settings"}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from triage.ingest import store_log
    from triage.models import Log
    from triage.tokens import create_token
    from workers.tasks import analyze_log

    call_command("migrate", verbosity=0)
    warning = "[{t:12.6f}] WARNING: CPU: 0 PID: 1 at kernel/foo.c:{n} foo_{n}+0x1/0x2\n"
    lines, size, n = [], 0, 0
    while size < args.mib * 1024 * 1024 - 200:
        line = warning.format(t=100 + n / 1000, n=n % 5000)
        lines.append(line)
        size += len(line)
        n += 1
    log, _ = store_log(iter([("".join(lines)).encode()]), "warnings.txt", {"run_id": str(time.time())})
    del lines
    started = time.monotonic()
    analyze_log(log.pk)
    log = Log.objects.get(pk=log.pk)
    print(f"log: {log.size / 2**20:.0f} MiB, {n} reports: {log.crash_count} stored, {log.reports_dropped} "
          f"counted only; analysed in {time.monotonic() - started:.0f} s")
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench")
    token = create_token(user, "bench", ["read"])[1]
    headers = {"Authorization": f"Token {token}"}
    from django.db import connections

    connections.close_all()
    for path in (f"/logs/{log.pk}/", f"/logs/{log.pk}/?from=200000", "/api/crashes/?limit=500",
                 "/api/logs/?limit=500", f"/api/logs/{log.pk}/"):
        base, peak, size, seconds = measure(env, path, headers)
        print(f"{path:32} peak RSS {peak} MiB (idle {base} MiB), {size / 1024:.0f} KiB in {seconds:.2f} s")
    print("load average:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
