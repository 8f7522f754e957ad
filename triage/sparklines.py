"""Crashes per day of many clusters at once (one GROUP BY), drawn as tiny inline SVG polylines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from triage.models import Crash

DAYS = 30


@dataclass
class Sparkline:
    points: str  # "x,y x,y ..." for <polyline points>
    total: int
    peak: int
    days: int
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"{self.total} crash{'es' if self.total != 1 else ''} in the last {self.days} days, at most {self.peak} a day"


def sparklines(cluster_ids: Iterable[int], days: int = DAYS, width: int = 90, height: int = 18) -> dict[int, Sparkline]:
    ids = list(cluster_ids)
    if not ids:
        return {}
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    counts: dict[int, dict[date, int]] = defaultdict(dict)
    rows = (Crash.objects.filter(cluster_id__in=ids, log__created__date__gte=first)
            .annotate(day=TruncDate("log__created")).values("cluster_id", "day").annotate(n=Count("id"))
            .order_by().values_list("cluster_id", "day", "n"))
    for cid, day, n in rows:
        counts[cid][day.date() if isinstance(day, datetime) else day] = n
    out = {}
    step = width / (days - 1)
    for cid in ids:
        per_day = [counts[cid].get(first + timedelta(days=i), 0) for i in range(days)]
        peak = max(per_day) or 1
        points = " ".join(f"{i * step:.1f},{height - 1 - (height - 2) * n / peak:.1f}" for i, n in enumerate(per_day))
        out[cid] = Sparkline(points, sum(per_day), max(per_day), days, width, height)
    return out
