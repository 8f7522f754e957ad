"""The comparison page: two sets of runs, fail:runs per cluster and stat key."""

from __future__ import annotations

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from triage.comparisons import SELECTORS, compare_runs, link_rows, side_filters
from triage.listing import cached, known_values
from triage.models import Log

KNOWN_COMMITS = 300
ROWS_SHOWN = 30  # per verdict; ?show=<verdict> shows all of one


def known_commits() -> list[dict]:
    """Commits the app has runs of, newest first, with their tree/branch and run counts (cached)."""
    def load() -> list[dict]:
        return list(Log.objects.exclude(commit="").values("commit", "tree", "branch")
                    .annotate(runs=Count("id"), last=Max("created")).order_by("-last")[:KNOWN_COMMITS])
    return cached("known-commits", load)


def compare(request: HttpRequest) -> HttpResponse:
    """`/compare/?base_commit=A&target_commit=B` (any selector per side, or unprefixed for both)."""
    base, target = side_filters(request.GET, "base"), side_filters(request.GET, "target")
    robot = request.GET.get("robot") in ("1", "true", "on", "yes")
    result = compare_runs(base, target, robot=robot, link=False) if base and target else None
    buckets = result.shown(ROWS_SHOWN, request.GET.get("show", "")) if result else []  # none: result.problems
    if buckets:
        link_rows(result, (row for b in buckets for row in b.rows))
    commits = known_commits()
    options = {s: [(v, v) for v in known_values(Log, s)] for s in SELECTORS if s != "commit"}
    options["commit"] = [(c["commit"], f"{c['tree'] or '-'}/{c['branch'] or '-'} · {c['runs']} run{'s' if c['runs'] != 1 else ''}"
                          f" · {c['last']:%Y-%m-%d}") for c in commits]
    fields = [(s, request.GET.get(f"base_{s}", ""), request.GET.get(f"target_{s}", ""), options[s]) for s in SELECTORS]
    return render(request, "compare.html", {
        "result": result, "buckets": buckets, "fields": fields, "robot": robot,
    })
