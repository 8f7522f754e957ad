"""Filter controls and sortable columns for list pages, from the query string (shareable URLs).

A page declares its filters (what a person filters by) and sortable columns; `apply()` narrows the
queryset and returns what the template's `_filters.html` draws. Values offered for free-text
fields (trees, configs, ...) are the distinct values stored, cached for a few minutes: a datalist, so
any value can still be typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import F, Max, Min, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date

from triage.models import Log

CHOICES_TTL = 60
MAX_CHOICES = 300
HEX = frozenset("0123456789abcdef")


_CACHED: dict[str, tuple[float, Any]] = {}


def cached(key: str, load: Callable[[], Any], ttl: float = CHOICES_TTL) -> Any:
    """A value kept for `ttl` seconds in this process: suggestions may be a little stale, never slow."""
    now = time.monotonic()
    hit = _CACHED.get(key)
    if hit and now - hit[0] < ttl:
        return hit[1]
    value = load()
    _CACHED[key] = (now, value)
    return value


def forget_cached() -> None:
    _CACHED.clear()


def known_values(model, field_name: str) -> list[str]:
    """Distinct non-empty values of a field, cached (the filter's datalist)."""
    def load() -> list[str]:
        return list(model.objects.exclude(**{field_name: ""}).order_by(field_name)
                    .values_list(field_name, flat=True).distinct()[:MAX_CHOICES])

    return cached(f"choices:{model._meta.label_lower}:{field_name}", load)


def commit_q(value: str, lookup: str = "commit") -> Q:
    """A commit as people give it, full or abbreviated (7+ hex digits), matches logs uploaded with the
    full hash or any abbreviation of it: `eaf065b089545` and `eaf065b089545219e...` are one commit."""
    value = value.strip()
    q = Q(**{lookup: value})
    lowered = value.lower()
    if len(lowered) >= 7 and set(lowered) <= HEX:
        q |= Q(**{f"{lookup}__startswith": lowered})
        shorter = [lowered[:n] for n in range(7, len(lowered))]
        if shorter:
            q |= Q(**{f"{lookup}__in": shorter})
    return q


@dataclass
class Filter:
    name: str  # the query parameter
    label: str
    apply: Callable[[QuerySet, str], QuerySet]
    choices: Callable[[], Sequence] | None = None  # values, or (value, label) pairs for a <select>
    select: bool = False  # a closed list (<select>) rather than free text with suggestions
    kind: str = "text"  # text | date
    value: str = ""
    options: list = field(default_factory=list)
    error: str = ""  # the value could not be used (the filter is ignored, and the page says why)
    # Other parameter names read when `name` is absent (shared URLs written with them keep working);
    # the form writes `name`.
    aliases: tuple[str, ...] = ()


def field_filter(name: str, label: str, lookup: str, model=Log, source: str | None = None) -> Filter:
    """Exact match on `lookup`, suggestions from the distinct values of `model.source`."""
    return Filter(name, label, lambda qs, v: qs.filter(**{lookup: v}),
                  choices=lambda: known_values(model, source or name))


def commit_filter(lookup: str = "commit") -> Filter:
    return Filter("commit", "commit", lambda qs, v: qs.filter(commit_q(v, lookup)))


def day_of(value: str, days_back: bool = False):
    """`YYYY-MM-DD` (or, with `days_back`, a number of days back: "7") as a date; ValueError saying
    why otherwise (2026-02-30 is a date's shape but no date)."""
    if days_back and value.isdigit():
        try:
            return timezone.localdate() - timedelta(days=int(value))
        except OverflowError:
            raise ValueError(f"{value} days back is before any date") from None
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"“{value}” is not a date (YYYY-MM-DD{' or a number of days' if days_back else ''})")
    return day


def midnight(day: date) -> datetime:
    """The day's first instant here (the current time zone). Filters compare timestamps with it rather
    than take each row's date, so they read the timestamp's index."""
    try:
        # in UTC too, as the database compares it (0001-01-01 here may be before year 1 there)
        return timezone.make_aware(datetime.combine(day, datetime.min.time())).astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"“{day}” is out of range") from None


def since_filter(name: str, label: str, lookup: str, log_id: str | None = None) -> Filter:
    """`YYYY-MM-DD` or a number of days back ("7"): from that day's first instant. `log_id`, for a filter
    on the log's upload time: the field with the log's id, also bounded by the first such log's id."""
    def since(qs: QuerySet, value: str) -> QuerySet:
        start = midnight(day_of(value, days_back=True))
        qs = qs.filter(**{f"{lookup}__gte": start})
        return _id_bound(qs, log_id, "gte", _logs_id(Min, created__gte=start))
    return Filter(name, label, since, kind="date")


def before_filter(name: str, label: str, lookup: str, log_id: str | None = None) -> Filter:
    """`YYYY-MM-DD`: up to that day's last instant (`log_id` as for since_filter)."""
    def before(qs: QuerySet, value: str) -> QuerySet:
        day = day_of(value)
        if day == date.max:
            return qs
        end = midnight(day + timedelta(days=1))
        qs = qs.filter(**{f"{lookup}__lt": end})
        return _id_bound(qs, log_id, "lte", _logs_id(Max, created__lt=end))
    return Filter(name, label, before, kind="date")


def _logs_id(aggregate, **filters) -> int | None:
    """The first (Min) or last (Max) id of the logs uploaded in a time range. `id + 0`: a plain MIN(id)
    walks the id index from its start until a log is in range, every log before a recent range."""
    return Log.objects.filter(**filters).aggregate(n=aggregate(F("id") + 0))["n"]


def _id_bound(qs: QuerySet, field: str | None, op: str, bound: int | None) -> QuerySet:
    """The same rows, with the range of log ids they lie in said too. Redundant, but the planner
    cannot know that the logs of a time range are a range of ids (uploads are numbered in time order),
    and walked the crashes of every older log for a page of the newest days."""
    if field is None:
        return qs
    return qs.none() if bound is None else qs.filter(**{f"{field}__{op}": bound})


@dataclass
class Listing:
    filters: list[Filter]
    sort: str
    sorts: dict[str, str]  # parameter value -> ORM ordering (descending with a leading "-")
    active: dict[str, str] = field(default_factory=dict)

    @property
    def any_active(self) -> bool:
        return bool(self.active)


def apply(params: QueryDict, queryset: QuerySet, filters: list[Filter], sorts: dict[str, str],
          default_sort: str, unique: frozenset[str] = frozenset()) -> tuple[QuerySet, Listing]:
    """Narrow and order `queryset` by the request's parameters; the Listing draws the controls.

    Rows are ordered by the sort's fields then by pk, so that pages never repeat or skip a row;
    `unique` names the sorts whose fields are already unique together (an index gives them in
    order: a pk after them would make the database sort every row of a group instead).
    """
    active = {}
    for f in filters:
        given = params.get(f.name) or next((params[a] for a in f.aliases if params.get(a)), "")
        f.value = given.strip()[:200]
        if f.choices is not None:
            f.options = list(f.choices())
        if f.value:
            try:
                queryset = f.apply(queryset, f.value)
            except ValueError as exc:  # a date that is not one: said beside the control, not a 500
                f.error = str(exc)
                continue
            active[f.name] = f.value
    sort = params.get("sort", default_sort)
    if sort.lstrip("-") not in sorts:
        sort = default_sort
    order = sorts[sort.lstrip("-")]
    descending = sort.startswith("-")
    ordering = [(o[1:] if o.startswith("-") else f"-{o}") if descending else o for o in order.split(",")]
    if sort.lstrip("-") not in unique:
        ordering.append("-pk" if descending else "pk")
    return queryset.order_by(*ordering), Listing(filters, sort, sorts, active)
