"""Every filter and sort of the big lists at scale (run by hand, after bench/pages.py generated its rows).

    .venv/bin/python bench/lists.py [--slower-than 200] [--repeat 3] [--only TEXT]

Times the crashes, clusters and logs lists on the database of bench/pages.py (BENCH_DATABASE_URL):
each filter alone with a common and a rare value, each sort both ways, and each filter with each sort.
The filters and sorts are read from the views, so a new one is timed without editing this script.
Prints the median of --repeat fetches and the query count of every URL, then the ones slower than
--slower-than ms, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pages import DB_URL  # noqa: E402  (the same database)


def values_of(lst: str) -> dict[str, list[str]]:
    """A common and a rare value for each filter of a list, taken from the rows."""
    from django.db.models import Count

    from triage.models import Cluster, Crash, Log, MaintainersFile  # noqa: F401

    def common_and_rare(model, field: str) -> list[str]:
        rows = list(model.objects.exclude(**{field: ""}).values(field).annotate(n=Count("pk"))
                    .order_by("-n").values_list(field, flat=True))
        return [rows[0], rows[-1]] if len(rows) > 1 else rows

    week_ago = (date.today() - timedelta(days=7)).isoformat()
    year_ago = (date.today() - timedelta(days=365)).isoformat()
    jobs = {f: common_and_rare(Log, f) for f in ("tree", "branch", "config", "arch", "test")}
    days = {name: [week_ago, year_ago] for name in ("since", "before", "seen_since", "seen_before",
                                                      "first_since", "first_before")}
    commit = Log.objects.values_list("commit", flat=True).first() or ""
    sections = [s for s in Crash.objects.exclude(subsystem="").values_list("subsystem", flat=True)[:1]]
    crash = Crash.objects.exclude(guilty_function="").first()
    common = {"kind": common_and_rare(Crash, "kind"), "status": ["new", "fixed"], "subsystem": sections,
              "q": [crash.guilty_function] if crash else []}
    if lst == "crashes":
        return common | jobs | days | {"commit": [commit[:12]]}
    if lst == "clusters":
        return common | jobs | days
    return {"status": ["done", "failed"], "commit": [commit[:12]], "run_id": ["run-1"],
            "stat_key": ["dmesg.boot_failures"], "machine": common_and_rare(Log, "machine")} | jobs | days


def urls() -> list[str]:
    from triage.views.clusters import CLUSTER_SORTS, cluster_filters
    from triage.views.crashes import CRASH_SORTS, crash_filters
    from triage.views.logs import LOG_SORTS, log_filters

    out = []
    for lst, filters, sorts in (("crashes", crash_filters(), CRASH_SORTS), ("clusters", cluster_filters(), CLUSTER_SORTS),
                                ("logs", log_filters(), LOG_SORTS)):
        values = values_of(lst)
        orders = [""] + [f"{sign}{s}" for s in sorts for sign in ("", "-")]
        for f in [None, *filters]:
            for value in (values.get(f.name, []) if f else [None]):
                for i, sort in enumerate(orders):
                    if value is not None and i and value != values[f.name][0]:
                        continue  # the rare value with the default sort only
                    params = ({f.name: value} if f else {}) | ({"sort": sort} if sort else {})
                    out.append(f"/{lst}/?{urlencode(params)}" if params else f"/{lst}/")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slower-than", type=float, default=200)
    parser.add_argument("--only", default="", help="only the URLs containing this text (`crashes/?commit=`)")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = DB_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    slow = []
    for url in (u for u in urls() if args.only in u):
        assert client.get(url).status_code == 200, url
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - t) * 1000)
        median = statistics.median(times)
        print(f"{median:7.0f} ms {len(queries):3d} q  {url}", flush=True)
        if median > args.slower_than:
            slow.append((median, url))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    print(f"{len(slow)} slower than {args.slower_than:.0f} ms:")
    for median, url in sorted(slow, reverse=True):
        print(f"{median:7.0f} ms  {url}")


if __name__ == "__main__":
    main()
