"""Scale-out figures with real `celery worker` processes, PostgreSQL, Redis and an S3 server (moto).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/scaleout.py [--logs 200]

1. logs analysed per second with one worker process and with two (solo pool each, analysis queue);
2. from a build upload to its first decoded trace on a worker with no local copy: with the index
   built by that worker (index queue) and with the index downloaded from the store (a fresh worker,
   the index built earlier by another);
3. the decoding worker's cache on disk against its limit while it decodes crashes of two kernels.

The database named in DATABASE_URL is dropped and made again (it must not be a real one). The lab
kernels of ../shared/corpus/lab*/kernel are used when present, else a tiny kernel built with gcc.
Quote the figures with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "corpus"


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def setup_database(url: str) -> None:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    if "postgresql" not in db["ENGINE"]:
        sys.exit("DATABASE_URL must name a PostgreSQL database for this benchmark")
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


class Worker:
    def __init__(self, name: str, queues: str, folder: Path, env: dict[str, str], extra: dict[str, str] | None = None,
                 wait_ready: bool = True):
        self.folder = folder / name
        self.folder.mkdir(parents=True)
        self.cache = self.folder / "cache"
        self.out = self.folder / "worker.log"
        environ = {**os.environ, **env, "TRIAGE_VAR_DIR": str(self.folder / "var"), "TRIAGE_CACHE_DIR": str(self.cache),
                   "TRIAGE_STORAGE_DIR": str(self.folder / "storage"), **(extra or {})}
        with open(self.out, "wb") as f:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-P", "solo", "-Q", queues,
                 "-n", f"{name}-{os.getpid()}@%h", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
                cwd=ROOT, env=environ, stdout=f, stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"worker {self.folder.name} died:\n{self.out.read_text()[-2000:]}")
        return " ready." in self.out.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait(self.ready, 120)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait(predicate, timeout: float = 900.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise SystemExit("timed out")
        time.sleep(0.05)
    return time.monotonic() - start


def purge() -> None:
    from workers.celery_app import app

    with app.connection_for_write() as conn:
        for queue in ("analysis", "index", "periodic"):
            conn.default_channel.queue_purge(queue)


def analysis_rate(folder: Path, env: dict[str, str], processes: int, n: int) -> tuple[float, str]:
    from django.db.models import Q

    from triage.ingest import store_log
    from triage.models import Log

    logs = sorted((ROOT / "tests" / "fixtures" / "logs").glob("*.log")) + sorted((ROOT / "demo" / "logs").glob("*.log"))
    data = [p.read_bytes() for p in logs]
    tag = f"rate{processes}-{time.time_ns()}"
    for i in range(n):  # queued first: the workers then run flat out
        store_log(iter([data[i % len(data)]]), "dmesg.txt", {"commit": tag, "run_id": str(i), "machine": "bench"})
    workers = [Worker(f"analysis{processes}-{i}", "analysis", folder, env, wait_ready=False) for i in range(processes)]
    try:
        wait(lambda: any(w.ready() for w in workers), 120)
        start = time.monotonic()  # the first worker consumes from here (a second one a little later)
        pending = Q(commit=tag) & ~Q(status__in=("done", "failed"))
        wait(lambda: not Log.objects.filter(pending).exists())
        seconds = time.monotonic() - start
        failed = Log.objects.filter(commit=tag, status="failed").count()
        assert failed == 0, f"{failed} analyses failed"
        return n / seconds, load()
    finally:
        for w in workers:
            w.stop()


def kernels(folder: Path) -> list[tuple[Path, list[Path], bytes]]:
    """(vmlinux, modules, a crash log of it) for the lab kernels, else a tiny gcc-built one."""
    found = []
    for lab, log in (("lab", "BUG.log"), ("lab-ppc64", "BUG.log")):
        kernel = SHARED / lab / "kernel"
        if (kernel / "vmlinux.xz").exists() and (SHARED / lab / "logs" / log).exists():
            found.append((kernel / "vmlinux.xz", sorted((kernel / "modules").glob("*.ko*")),
                          (SHARED / lab / "logs" / log).read_bytes()))
    if found:
        return found
    from tests.triage.test_builds import SOURCE, crash_log

    (folder / "kernel.c").write_text(SOURCE)
    subprocess.run(["gcc", "-g", "-O2", "-nostdlib", "-static", "-fno-stack-protector", "-Wl,--build-id",
                    str(folder / "kernel.c"), "-o", str(folder / "vmlinux")], check=True)
    return [(folder / "vmlinux", [], crash_log(folder / "vmlinux"))]


def upload_build(vmlinux: Path, modules: list[Path], commit: str):
    from django.core.files import File

    from triage.builds import store_build

    with open(vmlinux, "rb") as vm:
        opened = [open(m, "rb") for m in modules]  # noqa: SIM115 (closed below)
        try:
            return store_build(File(vm, name=vmlinux.name), [File(f, name=m.name) for f, m in zip(opened, modules, strict=True)],
                               {"commit": commit})
        finally:
            for f in opened:
                f.close()


def first_decode(vmlinux: Path, modules: list[Path], crash: bytes, tag: str) -> tuple[float, float, bool]:
    """Seconds from the build upload to the crash's first decoded trace, to the full-index one."""
    from triage.ingest import store_log
    from triage.models import Crash

    start = time.monotonic()
    upload_build(vmlinux, modules, tag)
    log, _ = store_log(iter([crash]), "dmesg.txt", {"commit": tag, "run_id": tag})
    wait(lambda: Crash.objects.filter(log=log, decode_status="done").exists())
    lazy = Crash.objects.filter(log=log, decode_status="done").first().decoded.get("lazy", False)
    first = time.monotonic() - start
    wait(lambda: Crash.objects.filter(log=log, decode_status="done", decoded__lazy=False).exists())
    return first, time.monotonic() - start, lazy


def decode_again(crash: bytes, tag: str) -> float:
    """Seconds from the upload of a crash log of an indexed build to its decoded trace."""
    from triage.ingest import store_log
    from triage.models import Crash

    start = time.monotonic()
    log, _ = store_log(iter([crash]), "dmesg.txt", {"commit": tag, "run_id": tag})
    wait(lambda: Crash.objects.filter(log=log, decode_status="done").exists())
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=200, help="logs uploaded per analysis-rate run")
    parser.add_argument("--no-rate", action="store_true", help="skip the analysis-rate runs")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (a scratch PostgreSQL database) and REDIS_URL")
    setup_database(os.environ["DATABASE_URL"])
    from tests.s3server import start_s3

    s3 = start_s3()
    os.environ.update(s3.env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "triage.settings"
    folder = Path(tempfile.mkdtemp(prefix="triage-bench-scaleout-"))
    os.environ["TRIAGE_VAR_DIR"] = str(folder / "bench-var")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    purge()
    env = {**s3.env, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    try:
        print(f"S3 server {s3.endpoint}, bucket {s3.bucket}; workers' folders under {folder}")
        for processes in () if args.no_rate else (1, 2):
            rate, when = analysis_rate(folder, env, processes, args.logs)
            print(f"analysis: {args.logs} logs, {processes} worker process(es): {rate:.1f} logs/s [{when}]")

        found = kernels(folder)
        vmlinux, modules, crash = found[0]
        indexer = Worker("indexer", "index", folder, env)
        decoder = Worker("decoder-a", "analysis", folder, env)
        try:
            first, full, lazy = first_decode(vmlinux, modules, crash, "build-a")
            print(f"{vmlinux}: build upload -> first decoded trace {first:.1f} s ({'lazy' if lazy else 'index'}), "
                  f"-> decoded from the full index {full:.1f} s, index BUILT by the indexer [{load()}]")
        finally:
            decoder.stop()
        # The index is in the store now: a crash of that build reaches a fresh worker with no local copy.
        limit = 0
        fresh = Worker("decoder-b", "analysis", folder, env)
        try:
            for what in ("no local copy: index DOWNLOADED", "warm: index in its cache"):
                seconds = decode_again(crash, f"again-{what[:4]}")
                print(f"{vmlinux}: crash upload -> decoded on a worker with {what}: {seconds:.1f} s [{load()}]")
            entries = fresh.cache / "entries"
            size = sum(p.stat().st_size for p in entries.rglob("*") if p.is_file())
            limit = int(size * 1.5)
        finally:
            fresh.stop()
            indexer.stop()
        for w in (indexer, decoder, fresh):
            print(f"  {w.folder.name}: " + "; ".join(line.split("] ", 1)[-1][:110] for line in w.out.read_text().splitlines()
                                                     if "succeeded in" in line or "index " in line))

        if len(found) > 1:
            from workers.buildcache import BuildCache

            indexer = Worker("indexer2", "index", folder, env)
            small = Worker("decoder-small", "analysis", folder, env, {"TRIAGE_CACHE_BYTES": str(limit)})
            try:
                for round_ in range(2):
                    for i, (vm, mods, log) in enumerate(found):
                        if round_ == 0 and i == 0:
                            decode_again(log, "cache-0-0")  # already indexed
                        elif round_ == 0:
                            first_decode(vm, mods, log, f"cache-{round_}-{i}")
                        else:
                            decode_again(log, f"cache-{round_}-{i}")
                        use = BuildCache(small.cache, limit).usage()
                        print(f"cache: after decoding kernel {i} (round {round_}): {use / 2**20:.1f} MiB on disk, "
                              f"limit {limit / 2**20:.1f} MiB [{load()}]")
            finally:
                small.stop()
                indexer.stop()
    finally:
        s3.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
