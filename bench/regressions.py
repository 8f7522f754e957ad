"""Regression detection cost per analysed log, with 10,000 runs in 100 jobs already stored (PostgreSQL).

Fills a bench database (created when missing): 100 jobs (config x arch x test) of one tree/branch,
each with 10 commits of 10 runs; 50 clusters and 60 stat keys failing at their own rates, some
starting on a commit (regressions), some flaky. Then, for each of `--uploads` new analysed runs on a
random job (a new commit of the series now and then), measures the worker's side of regression
detection: `note_run` (series commit, job, the debounced queueing) and `check_job` (load the job's
series, detect, store), with the SQL queries of each. The check runs once per job per
TRIAGE_REGRESSION_DELAY in production; here it runs after every upload: the worst case, no debounce.
Sending the Celery message is left out (a no-op stands in for it: ~1 ms on Redis, bench/broker.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench_regressions .venv/bin/python bench/regressions.py

Goal: under 50 ms of worker time per analysed log.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/triage_bench_regressions"
JOBS = 100
COMMITS = 10
RUNS = 10  # per job and commit: 100 x 10 x 10 = 10,000 runs
CLUSTERS = 50
STAT_KEYS = 60
TREE, BRANCH = "linux-next", "master"


def job_fields(i: int) -> dict[str, str]:
    return {"tree": TREE, "branch": BRANCH, "config": f"config-{i % 10}", "arch": ("x86_64", "arm64")[i // 50],
            "test": f"test-{(i // 10) % 5}"}


def fill(reset: bool) -> None:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from triage.models import Cluster, Crash, Job, Log, Regression, SeriesCommit, StatKey

    if Log.objects.filter(run_id__startswith="bench-").count() == JOBS * COMMITS * RUNS and not reset:
        print("bench rows already there (--reset to refill)")
        return
    rng = random.Random(9)
    t0 = time.perf_counter()
    start = timezone.now() - timedelta(days=30)
    with transaction.atomic():
        Regression.objects.all().delete()
        Job.objects.all().delete()
        SeriesCommit.objects.all().delete()
        Log.objects.all().delete()
        Cluster.objects.all().delete()
        clusters = Cluster.objects.bulk_create([Cluster(title=f"WARNING in bench_function_{i}", kind="WARNING")
                                                for i in range(CLUSTERS)])
        # (from which commit, rate before, rate after): most flaky or clean, a few regress at a commit
        cluster_rates = {c.pk: (rng.randrange(COMMITS), rng.choice([0, 0, 0.01, 0.05]), rng.choice([0, 0.01, 0.3, 0.6]))
                         for c in clusters}
        key_rates = {f"dmesg.WARNING:at_bench/file_{i}.c:#bench_function_{i}":
                     (rng.randrange(COMMITS), rng.choice([0, 0, 0.02]), rng.choice([0, 0.02, 0.4])) for i in range(STAT_KEYS)}
        SeriesCommit.objects.bulk_create([SeriesCommit(tree=TREE, branch=BRANCH, commit=f"c{n:03d}",
                                                       first_seen=start + timedelta(hours=n)) for n in range(COMMITS)])
        logs = []
        for j in range(JOBS):
            for n in range(COMMITS):
                for r in range(RUNS):
                    logs.append(Log(fingerprint=f"bench-{j}-{n}-{r}", sha256="0" * 64, size=0, raw="",
                                    run_id=f"bench-{j}-{n}-{r}", commit=f"c{n:03d}", machine=f"vm{r}",
                                    status=Log.Status.DONE, **job_fields(j)))
        Log.objects.bulk_create(logs, batch_size=5000)
        stat_keys, crashes = [], []
        for log in logs:
            n = int(log.commit[1:])
            for key, (at, before, after) in key_rates.items():
                if rng.random() < (after if n >= at else before):
                    stat_keys.append(StatKey(log=log, key=key))
            index = 0
            for cid, (at, before, after) in cluster_rates.items():
                if rng.random() < (after if n >= at else before):
                    crashes.append(Crash(log=log, index=index, title=f"WARNING in bench_{cid}", kind="WARNING",
                                         cluster_id=cid, report={}))
                    index += 1
        StatKey.objects.bulk_create(stat_keys, batch_size=5000)
        Crash.objects.bulk_create(crashes, batch_size=5000)
        Log.objects.update(created=start)  # one arrival order: the series commits' first_seen
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"filled {len(logs)} runs in {JOBS} jobs, {len(stat_keys)} stat keys, {len(crashes)} crashes "
          f"in {time.perf_counter() - t0:.1f} s")


def first_checks() -> None:
    """Every job checked once, as the workers would have while the runs came in."""
    from triage.models import Job, Log
    from triage.regressions import check_job, job_of

    t0 = time.perf_counter()
    for fields in Log.objects.values(*Log.JOB).distinct():
        job_of(Log(**fields))
    for job in Job.objects.all():
        check_job(job.pk)
    print(f"first check of {Job.objects.count()} jobs in {time.perf_counter() - t0:.1f} s")


def measure(uploads: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from triage import regressions
    from triage.models import Crash, Job, Log, Regression, StatKey
    from workers import tasks

    tasks.check_regressions.apply_async = lambda *a, **k: None  # the broker is not what is measured
    rng = random.Random(3)
    clusters = list(Crash.objects.values_list("cluster_id", flat=True).distinct()[:20])
    note, check, note_q, check_q, cpu = [], [], [], [], []
    before = Regression.objects.count()
    for u in range(uploads):
        j = rng.randrange(JOBS)
        commit = f"c{COMMITS + u // 10:03d}"  # a new commit every 10 uploads
        log = Log.objects.create(fingerprint=f"bench-new-{os.getpid()}-{u}-{time.time()}", sha256="0" * 64, size=0,
                                 raw="", run_id=f"new-{u}", commit=commit, status=Log.Status.DONE, **job_fields(j))
        if rng.random() < 0.3:
            StatKey.objects.create(log=log, key="dmesg.WARNING:at_bench/new.c:#bench_new")
            Crash.objects.create(log=log, index=0, title="WARNING in bench_new", cluster_id=rng.choice(clusters),
                                 report={})
        c0 = time.process_time()
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            regressions.note_run(log)
            note.append(time.perf_counter() - t0)
        note_q.append(len(q))
        job = Job.objects.get(**{f: getattr(log, f) for f in Log.JOB})
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            regressions.check_job(job.pk)
            check.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # the worker's own CPU (wall time includes waiting for PostgreSQL)
        check_q.append(len(q))

    def ms(xs: list[float]) -> str:
        xs = sorted(xs)
        return (f"median {statistics.median(xs) * 1000:5.1f} ms, p95 {xs[int(len(xs) * 0.95) - 1] * 1000:5.1f} ms, "
                f"max {xs[-1] * 1000:5.1f} ms")

    both = [a + b for a, b in zip(note, check, strict=True)]
    print(f"{uploads} analysed logs on {JOBS} jobs with {Log.objects.count()} runs stored")
    print(f"  note_run (series, job, queue a check): {ms(note)}, {max(note_q)} queries at most")
    print(f"  check_job (compare the job's series):  {ms(check)}, {min(check_q)}-{max(check_q)} queries")
    print(f"  worker time per analysed log, no debounce: {ms(both)}")
    print(f"  of which the worker's CPU (the rest is PostgreSQL and waiting): {ms(cpu)}")
    print(f"  regressions stored: {before} before, {Regression.objects.count()} after")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="refill the bench rows")
    parser.add_argument("--uploads", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench/regressions.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from compare import ensure_database

    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fill(args.reset)
    first_checks()
    measure(args.uploads)


if __name__ == "__main__":
    main()
