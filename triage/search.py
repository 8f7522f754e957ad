"""The search box: clusters by title, crashes by any function of their frames, stat keys, logs.

Crashes carry `search_text`, the function names (as printed, decoded, and inlined) and source files of
their frames, filled at analysis and at decoding. On PostgreSQL a trigram GIN index (migration
0011_crash_search_text) makes `ILIKE '%word%'` an index scan over a million crashes; SQLite runs the
same query as a table scan, which is fine at the sizes it is used for. Counts stop at COUNT_CAP so a
common word never counts a million rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from triage.models import Cluster, ClusterTitle, Crash, Log, StatKey

COUNT_CAP = 1000
SHOWN = 50


def _frame_words(frame: dict[str, Any]) -> Iterable[str]:
    if frame.get("function"):
        yield frame["function"]
    source = frame.get("source")
    if source:
        yield source.rsplit(":", 1)[0]
    for loc in frame.get("locations") or ():
        if loc.get("function"):
            yield loc["function"]
        if loc.get("file"):
            yield loc["file"]


def crash_search_text(report: dict[str, Any], decoded: dict[str, Any] | None = None) -> str:
    """Distinct function names and source files of a crash's frames (printed and decoded), one line."""
    words: dict[str, None] = {}
    frames = list(report.get("frames") or ())
    if report.get("ip"):
        frames.append(report["ip"])
    frames += list((decoded or {}).get("frames") or ())
    for frame in frames:
        for word in _frame_words(frame):
            words.setdefault(word, None)
    return " ".join(words)


@dataclass
class Group:
    """One kind of result: the rows shown and how many there are (capped)."""

    kind: str
    rows: list = field(default_factory=list)
    count: int = 0

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def count_text(self) -> str:
        return f"{COUNT_CAP:,}+" if self.capped else f"{self.count:,}"


def _group(kind: str, queryset: QuerySet, shown: int = SHOWN) -> Group:
    rows = list(queryset[:shown])
    count = len(rows) if len(rows) < shown else queryset.order_by()[:COUNT_CAP + 1].count()
    return Group(kind, rows, count)


def _words(query: str) -> list[str]:
    return [w for w in query.split() if w][:8]


def matching_crashes(query: str) -> QuerySet:
    """Crashes whose frames (the guilty one among them) or title name every word: two trigram indexes."""
    crashes = Crash.objects.all()
    for word in _words(query):
        crashes = crashes.filter(Q(search_text__icontains=word) | Q(title__icontains=word))
    return crashes


def search(query: str) -> list[Group]:
    """Every kind of result for the query, in page order; empty groups are kept (count 0)."""
    words = _words(query)
    if not words:
        return []
    clusters = Cluster.objects.filter(merged_into=None)
    for word in words:
        by_alt = ClusterTitle.objects.filter(title__icontains=word).values("cluster_id")
        clusters = clusters.filter(Q(title__icontains=word) | Q(pk__in=by_alt))
    crashes = (matching_crashes(query).select_related("log", "cluster").order_by("-id"))
    keys = StatKey.objects.all()
    for word in words:
        keys = keys.filter(key__icontains=word)
    keys = keys.values("key").annotate(runs=Count("log_id")).order_by("-runs", "key")
    logs = Log.objects.none()
    if len(words) == 1:
        word = words[0]
        logs = Log.objects.filter(Q(commit__startswith=word.lower()) | Q(run_id=word)
                                  | Q(filename__icontains=word)).order_by("-created")
    return [
        _group("clusters", clusters.order_by("-last_seen", "-pk")),
        _group("crashes", crashes),
        _group("stat keys", keys, 20),
        _group("logs", logs),
    ]
