"""Time from a build's upload to the first decoded trace in the app, and to its full index.

A real Celery worker process (embedded filesystem broker) and this process share a fresh SQLite
database under a temp dir. A lab crash log is uploaded first (it waits for its build), then the lab
kernel's vmlinux.xz + lkdtm.ko.xz; the clock runs from the build upload until the crash is decoded
(lazily, from the compile units it needs) and until the build's index is ready.

    .venv/bin/python bench/first_decode.py [--lab ../shared/corpus/lab] [--log READ_AFTER_FREE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", default=str(ROOT.parent / "shared" / "corpus" / "lab"))
    ap.add_argument("--log", default="READ_AFTER_FREE")
    args = ap.parse_args()
    lab = Path(args.lab)
    if not (lab / "kernel" / "vmlinux.xz").exists():
        raise SystemExit(f"no lab kernel under {lab}")
    var = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    env = dict(os.environ, TRIAGE_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="triage.settings")
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    from triage.builds import store_build
    from triage.ingest import store_log
    from triage.models import Build, Crash

    call_command("migrate", verbosity=0)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-c", "2",
                               "--loglevel=WARNING"], cwd=ROOT, env=env)
    try:
        log, _ = store_log(iter([(lab / "logs" / f"{args.log}.log").read_bytes()]), f"{args.log}.log", {})
        while not Crash.objects.filter(log=log).exists():
            time.sleep(0.1)
        crash = Crash.objects.filter(log=log).first()
        print(f"load {os.getloadavg()}; crash waiting: {crash.title} ({crash.decode_status})")
        start = time.monotonic()
        with open(lab / "kernel" / "vmlinux.xz", "rb") as vm, open(lab / "kernel" / "modules" / "lkdtm.ko.xz", "rb") as ko:
            build = store_build(File(vm, name="vmlinux.xz"), [File(ko, name="lkdtm.ko.xz")], {})
        print(f"upload stored in {time.monotonic() - start:.1f} s")
        first = None
        while True:
            crash.refresh_from_db()
            build.refresh_from_db()
            now = time.monotonic() - start
            if first is None and crash.decode_status == "done":
                first = now
                lazy = (crash.decoded or {}).get("lazy")
                print(f"first decoded trace after {first:.1f} s ({'lazy' if lazy else 'from the index'})")
            if build.index_status in (Build.Index.READY, Build.Index.FAILED):
                print(f"index {build.index_status} after {now:.1f} s {build.index_error}")
                break
            time.sleep(0.1)
        print(f"load after: {os.getloadavg()}")
    finally:
        worker.terminate()
        worker.wait(60)


if __name__ == "__main__":
    main()
