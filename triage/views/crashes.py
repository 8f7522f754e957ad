"""Crash pages: the list and one crash with its report and decoded trace."""

from __future__ import annotations

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from triage import listing, subsystems
from triage.frames import frame_rows
from triage.ingest import read_lines
from triage.models import Cluster, Crash, Log, VanishedCrash
from triage.run_crashes import crashes_of_runs
from triage.search import matching_crashes
from triage.views.common import page


def of_kind(crashes, value: str):
    """Crashes of a kind named in any case. The kinds known (a few, cached) that match are looked up
    exactly, through the (kind, ...) indexes; `UPPER(kind) = UPPER(value)` would read every crash, and
    is left for a kind newer than the cached list."""
    wanted = value.strip().casefold()
    kinds = [kind for kind in listing.known_values(Crash, "kind") if kind.casefold() == wanted]
    return crashes.filter(kind__in=kinds) if kinds else crashes.filter(kind__iexact=value.strip())


def crash_filters() -> list[listing.Filter]:
    return [
        listing.Filter("q", "title or frame", lambda qs, v: matching_crashes(v, crashes=qs)),
        listing.Filter("kind", "kind", of_kind,
                       choices=lambda: listing.known_values(Crash, "kind")),
        *[listing.field_filter(f, f, f"log__{f}") for f in ("tree", "branch", "config", "arch", "test")],
        listing.Filter("commit", "commit", lambda qs, v: crashes_of_runs(qs, listing.commit_q(v))),
        listing.Filter("subsystem", "subsystem", lambda qs, v: qs.filter(subsystems.in_section(v)),
                       choices=subsystems.filed_names),
        listing.Filter("status", "cluster status", lambda qs, v: qs.filter(cluster__status=v),
                       choices=lambda: Cluster.Status.choices, select=True),
        listing.since_filter("since", "since", "log__created", log_id="log_id"),
        listing.before_filter("before", "before", "log__created", log_id="log_id"),
    ]


# Each sort is read in its order from an index, a million crashes are never sorted whole. "when" is the
# upload order of the logs (ids grow with it): the crash's (log, index) index, where sorting by the log's
# timestamp would join and sort every crash. "cluster" walks the (cluster, log) index, "commit" the logs'
# commit index then each log's crashes; "kind" has a (kind, id) index (a kind is 1/7 of the table). The
# log's config, arch and test stay filters: sorting by them would join and sort every crash.
CHEAP_COUNT_FROM = 10_000
COUNTED_UP_TO = 10_000  # crashes matching filters
CRASH_SORTS = {"when": "log_id,index", "title": "title", "kind": "kind", "cluster": "cluster_id,log_id,index",
               "commit": "log__commit,log_id,index"}
CRASH_UNIQUE = frozenset({"when", "cluster", "commit"})  # (log, index) is unique: no id to break ties


def crash_list(request: HttpRequest) -> HttpResponse:
    crashes, shown = listing.apply(request.GET, Crash.objects.for_rows(), crash_filters(),
                                   CRASH_SORTS, "-when", unique=CRASH_UNIQUE)
    if shown.any_active:
        # Counted up to the cap: the exact count of a broad filter (a subsystem, since August) reads
        # every matching crash, hundreds of milliseconds at a million; the pages go to the cap.
        total = crashes.order_by()[:COUNTED_UP_TO + 1].count()
    else:
        # the logs' denormalized crash counts add up to the number of crashes: no COUNT(*) over a
        # million crash rows for the pager (small tables count exactly)
        total = Log.objects.aggregate(n=Sum("crash_count"))["n"] or 0
        total = None if total < CHEAP_COUNT_FROM else total
    more = total is not None and shown.any_active and total > COUNTED_UP_TO
    return render(request, "crashes.html", {"page": page(request, crashes, count=COUNTED_UP_TO if more else total),
                                            "listing": shown, "more": more})


def crash_detail(request: HttpRequest, pk: int) -> HttpResponse:
    crash = Crash.objects.select_related("log", "cluster", "log__build").filter(pk=pk).first()
    if crash is None:
        # A re-analysis (parser change) no longer finds this report: say so, and where its log is.
        gone = get_object_or_404(VanishedCrash.objects.select_related("log"), pk=pk)
        return render(request, "crash_gone.html", {"gone": gone}, status=410)
    try:
        lines, _ = read_lines(crash.log, crash.end_line + 1, start=crash.start_line)
    except OSError:
        lines = []
    text = "\n".join(lines)
    return render(request, "crash.html", {"crash": crash, "text": text, "report": crash.report,
                                          "frames": frame_rows(crash.report, crash.decoded, lines, crash.start_line),
                                          "matches": subsystems.matches(crash)})
