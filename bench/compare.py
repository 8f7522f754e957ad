"""How fast the comparison page renders from PostgreSQL: 1,000 runs per commit, 50 clusters.

Fills a bench database (created when missing; rows are bulk-inserted, filing is not what is measured),
then renders `/compare/?base_commit=A&target_commit=B`, its JSON API and the biggest cluster's page,
printing the render time, the number of SQL queries and the machine load. Goal: under 200 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench .venv/bin/python bench/compare.py [--reset]

The engine caches Fisher p-values (lru_cache): "cold" clears that cache before each render, the
first render of a comparison; "warm" is a reload.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/triage_bench"
RUNS = 1000
CLUSTERS = 50
STAT_KEYS = 60


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def fill(reset: bool) -> None:
    from django.db import transaction

    from triage.models import Cluster, ClusterTitle, Crash, Log, StatKey

    if Log.objects.filter(run_id__startswith="bench-").count() == 2 * RUNS and not reset:
        print("bench rows already there (--reset to refill)")
        return
    rng = random.Random(5)
    t0 = time.perf_counter()
    with transaction.atomic():
        Log.objects.all().delete()
        Cluster.objects.all().delete()
        clusters = Cluster.objects.bulk_create([
            Cluster(title=f"WARNING in bench_function_{i}", kind="WARNING", guilty_function=f"bench_function_{i}",
                    signature=[f"bench_function_{i}", f"bench_caller_{i % 7}", "worker_thread"])
            for i in range(CLUSTERS)])
        ClusterTitle.objects.bulk_create([ClusterTitle(title=c.title, cluster=c) for c in clusters])
        # each cluster and stat key fails at its own rate on each commit: regressions, fixes, flakes
        cluster_rates = {c.pk: (rng.choice([0, 0.002, 0.01, 0.05, 0.3]), rng.choice([0, 0.002, 0.01, 0.05, 0.3]))
                         for c in clusters}
        key_rates = {f"dmesg.WARNING:at_bench/file_{i}.c:#bench_function_{i}":
                     (rng.choice([0, 0.003, 0.02, 0.2]), rng.choice([0, 0.003, 0.02, 0.2])) for i in range(STAT_KEYS)}
        logs = Log.objects.bulk_create([
            Log(fingerprint=f"bench-{side}-{i}", sha256="0" * 64, size=0, raw="", run_id=f"bench-{side}-{i}",
                commit="AB"[side], config="x86_64-kasan", arch="x86_64", test="boot", machine=f"vm{i % 20}",
                status=Log.Status.DONE) for side in (0, 1) for i in range(RUNS)])
        stat_keys, crashes = [], []
        for log in logs:
            side = 0 if log.commit == "A" else 1
            for key, rates in key_rates.items():
                if rng.random() < rates[side]:
                    stat_keys.append(StatKey(log=log, key=key))
            index = 0
            for cid, rates in cluster_rates.items():
                if rng.random() < rates[side]:
                    crashes.append(Crash(log=log, index=index, title=f"WARNING in bench_{cid}", kind="WARNING",
                                         cluster_id=cid, report={}))
                    index += 1
        StatKey.objects.bulk_create(stat_keys, batch_size=5000)
        Crash.objects.bulk_create(crashes, batch_size=5000)
        for cluster in clusters:
            cluster.refresh_stats()
    print(f"filled {len(logs)} runs, {len(stat_keys)} stat keys, {len(crashes)} crashes, {len(clusters)} clusters "
          f"in {time.perf_counter() - t0:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client, url: str, repeat: int, cold: bool) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workers.compare import p_value

    times = []
    queries = 0
    size = 0
    for _ in range(repeat):
        if cold:
            p_value.cache_clear()
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
        queries, size = len(captured), len(response.content)
    return statistics.median(times) * 1000, min(times) * 1000, queries, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="refill the bench rows")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench/compare.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ["DEBUG"] = "0"
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    fill(args.reset)
    setup_test_environment()  # lets the test client's "testserver" host in
    from triage.models import Cluster

    client = Client()
    biggest = Cluster.objects.order_by("-crash_count").first()
    pages = [("compare page", "/compare/?base_commit=A&target_commit=B"),
             ("compare page, robot=1", "/compare/?base_commit=A&target_commit=B&robot=1"),
             ("compare API", "/api/compare/?base_commit=A&target_commit=B"),
             (f"cluster page ({biggest.crash_count} crashes)", f"/clusters/{biggest.pk}/")]
    client.get(pages[0][1])  # connection, templates, imports
    for name, page in pages:
        for cold in (True, False):
            median, best, queries, size = measure(client, page, args.repeat, cold)
            print(f"{name:34s} {'cold' if cold else 'warm'}: median {median:6.1f} ms, min {best:6.1f} ms, "
                  f"{queries} queries, {size // 1024} KiB")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count()))


if __name__ == "__main__":
    main()
