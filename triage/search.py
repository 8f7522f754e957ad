"""The search box: clusters by title, crashes by any function of their frames, stat keys, logs.

Crashes carry `search_text`, the function names (as printed, decoded, and inlined) and source files of
their frames, filled at analysis and at decoding. On PostgreSQL trigram GIN indexes make `%word%` an
index scan over a million crashes (migrations 0014 and 0016); SQLite runs the same query as a table
scan, which is fine at the sizes it is used for. Counts stop at COUNT_CAP so a common word never counts
a million rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, TextField, Value
from django.db.models.functions import Replace, Upper

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


def _group_of_capped(kind: str, queryset: QuerySet, shown: int = SHOWN) -> Group:
    """For a query that must see every match to order them (a sort by a count, by id over a bitmap
    scan): one query fetches the first COUNT_CAP + 1 rows, which give both the rows shown and the count,
    instead of a second scan to count."""
    rows = list(queryset[:COUNT_CAP + 1])
    return Group(kind, rows[:shown], len(rows))


# A frame pasted as the kernel prints it: `? vfs_write+0x1c6/0x230 [ext4]`, `fs/read_write.c:101`.
OFFSET = re.compile(r"\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?$")
LINE = re.compile(r"(\.[a-zA-Z]+):\d+(?::\d+)?$")


def _words(query: str) -> list[str]:
    """The words looked up: at most 8, a frame's offset and a source line's number left out."""
    words = (LINE.sub(r"\1", OFFSET.sub("", w.strip("[](),"))) for w in query.split() if w not in ("?", "<TASK>"))
    return [w for w in words if w][:8]


def _joined(column: str) -> Upper:
    """UPPER(REPLACE(column, '_', '0')), the expression migration 0016 indexes. pg_trgm splits words at
    anything not alphanumeric, so `vfs_write` would be looked up as `vfs` and `write` and every crash
    with a vfs_read and an ext4_write would be rechecked on the heap (two thirds of them, at a million
    crashes); with '_' made a letter the trigrams span it."""
    return Upper(Replace(F(column), Value("_"), Value("0"), output_field=TextField()))


def word_contains(column: str, word: str) -> Q:
    """`column` contains `word`, any case, through the trigram index of `_joined(column)`; the plain
    icontains, checked on the few rows the index finds, keeps `vfs0write` from matching `vfs_write`."""
    key = word.upper().replace("_", "0")
    return Q(**{f"{column}_joined__contains": key, f"{column}__icontains": word})


def crashes_with_words(crashes: QuerySet) -> QuerySet:
    """The crashes with the aliases `word_contains()` filters on."""
    return crashes.alias(search_text_joined=_joined("search_text"), title_joined=_joined("title"))


def matching_crashes(query: str, indexed: bool = True, crashes: QuerySet | None = None) -> QuerySet:
    """Crashes (of `crashes`, else all) whose frames (the guilty one among them) or title name every
    word: two trigram indexes (`indexed`), or the plain test a walk of the newest crashes applies row
    by row."""
    crashes = Crash.objects.all() if crashes is None else crashes
    crashes = crashes_with_words(crashes) if indexed else crashes
    for word in _words(query):
        if indexed:
            crashes = crashes.filter(word_contains("search_text", word) | word_contains("title", word))
        else:
            crashes = crashes.filter(Q(search_text__icontains=word) | Q(title__icontains=word))
    return crashes


def _crash_group(query: str) -> Group:
    """The newest matching crashes, and how many match up to COUNT_CAP.

    The trigram indexes find the matches in the table's order, so the first COUNT_CAP + 1 of them
    count a common word without reading its 30,000 rows. A rare word is then fully known and sorted
    here; a common one is found sooner walking the crashes newest first and testing each (50 matches
    among the first few thousand rows). The planner cannot tell the two apart (its estimate for
    `%word%` is a guess), so the count decides.
    """
    found = list(matching_crashes(query).order_by().values_list("id", flat=True)[:COUNT_CAP + 1])
    if len(found) <= COUNT_CAP:
        newest = sorted(found, reverse=True)[:SHOWN]
    else:
        newest = list(matching_crashes(query, indexed=False).order_by("-id").values_list("id", flat=True)[:SHOWN])
    rows = Crash.objects.filter(id__in=newest).for_rows().order_by("-id")
    return Group("crashes", list(rows), len(found))


def search(query: str) -> list[Group]:
    """Every kind of result for the query, in page order; empty groups are kept (count 0)."""
    words = _words(query)
    if not words:
        return []
    clusters = Cluster.objects.filter(merged_into=None)
    for word in words:  # one union of two index scans: an OR of the two would read every cluster
        by_title = Cluster.objects.filter(title__icontains=word).order_by().values("pk")
        by_alt = ClusterTitle.objects.filter(title__icontains=word).order_by().values("cluster_id")
        clusters = clusters.filter(pk__in=by_title.union(by_alt))
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
        _group("clusters", clusters.order_by("-last_seen", "-pk").prefetch_related("links")),
        _crash_group(query),
        _group_of_capped("stat keys", keys, 20),
        _group("logs", logs),
    ]
