"""Chart data for the pages (drawn in the browser by the vendored Chart.js, static/charts.js).

Every chart is a dict `{"type", "labels", "datasets", "x", "y", "title"}` that the template embeds with
`json_script`; the page keeps a table of the same numbers for readers without a canvas. Days without
crashes are drawn as zero and the axis spans at least a week, so one data point still reads as a chart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from triage.models import Log

MIN_DAYS = 7
MAX_DAYS = 120
SERIES = 6  # named series; the rest are drawn as "other"
PALETTE = ["#cf222e", "#0969da", "#1a7f37", "#8250df", "#bc4c00", "#57606a", "#a0a0a0"]


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def per_day(crashes: QuerySet, split: str | None = None, days: int | None = None) -> dict | None:
    """Crashes per day, stacked by `split` ("commit" or "config" of their logs) when given."""
    if days:
        crashes = crashes.filter(log__created__date__gte=timezone.now().date() - timedelta(days=days - 1))
    fields = ["day"] + ([f"log__{split}"] if split else [])
    rows = (crashes.annotate(day=TruncDate("log__created")).values(*fields).annotate(n=Count("id"))
            .order_by().values_list(*fields, "n"))
    return _per_day([(row[0], row[1] if split else None, row[-1]) for row in rows], split, days)


def per_day_of_groups(rows: list[tuple], split: str | None) -> dict | None:
    """The same from the cluster page's (day, split value, crashes) rows (triage.cluster_groups)."""
    split = split if split in ("commit", "config") else None
    return _per_day(rows, split, None)


def _per_day(rows: list[tuple], split: str | None, days: int | None) -> dict | None:
    counts: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for day, value, n in rows:
        day = _day(day)
        if day is None:
            continue
        name = (value or "(none)") if split else "crashes"
        counts[name][day] += n
        totals[name] += n
    if not totals:
        return None
    last = max(max(c) for c in counts.values())
    first = min(min(c) for c in counts.values())
    if days:
        first, last = timezone.now().date() - timedelta(days=days - 1), timezone.now().date()
    first = max(min(first, last - timedelta(days=MIN_DAYS - 1)), last - timedelta(days=MAX_DAYS - 1))
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    names = [name for name, _ in totals.most_common(SERIES)]
    rest = [name for name in totals if name not in names]
    series = [(name, counts[name]) for name in names]
    if rest:
        other: Counter = Counter()
        for name in rest:
            other.update(counts[name])
        series.append((f"other ({len(rest)})", other))
    datasets = [{"label": name, "data": [c.get(d, 0) for d in span], "backgroundColor": PALETTE[i % len(PALETTE)]}
                for i, (name, c) in enumerate(series)]
    return {"type": "bar", "labels": [f"{d:%Y-%m-%d}" for d in span], "datasets": datasets, "stacked": True,
            "x": "day", "y": "crashes", "title": "crashes per day" + (f" by {split}" if split else ""),
            "total": sum(totals.values())}


def logs_crashes_per_day(days: int) -> dict | None:
    """Crashes per day of every log, from the logs' crash counts (the home page's "this week")."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))  # the index on created serves it
    rows = dict(Log.objects.filter(created__gte=start).annotate(day=TruncDate("created")).values("day")
                .annotate(n=Sum("crash_count")).order_by().values_list("day", "n"))
    rows = {_day(d): n or 0 for d, n in rows.items()}
    if not any(rows.values()):
        return None
    span = [first + timedelta(days=i) for i in range(days)]
    return {"type": "bar", "labels": [f"{d:%Y-%m-%d}" for d in span], "x": "day", "y": "crashes",
            "datasets": [{"label": "crashes", "data": [rows.get(d, 0) for d in span], "backgroundColor": PALETTE[0]}],
            "title": f"crashes per day, last {days} days", "total": sum(rows.values())}


def fail_rate_per_commit(timeline: list[dict]) -> dict | None:
    """fail:runs per commit (oldest left), from the cluster page's timeline rows."""
    rows = [t for t in reversed(timeline) if t.get("commit")]
    if not rows:
        return None
    lines = {(t.get("tree", ""), t.get("branch", "")) for t in rows}
    # several trees: each bar says whose commit it is (a commit may be on two of them, counted apart)
    labels = [t["commit"][:12] if len(lines) == 1 else
              f"{t['commit'][:12]} {'/'.join(v for v in (t.get('tree'), t.get('branch')) if v) or '-'}" for t in rows]
    return {"type": "bar", "labels": labels,
            "datasets": [{"label": "% of runs failing", "data": [round(t["rate"], 1) for t in rows],
                          "backgroundColor": PALETTE[0],
                          "fail_runs": [f"{t['fail']}:{t['runs']}" for t in rows]}],
            "x": "commit", "y": "% of runs failing", "title": "fail:runs per commit", "max": 100}
