"""The comparison page: two sets of runs, fail:runs per cluster and stat key."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from triage.comparisons import SELECTORS, compare_runs, side_filters


def compare(request: HttpRequest) -> HttpResponse:
    """`/compare/?base_commit=A&target_commit=B` (any selector per side, or unprefixed for both)."""
    base, target = side_filters(request.GET, "base"), side_filters(request.GET, "target")
    robot = request.GET.get("robot") in ("1", "true", "on", "yes")
    result = compare_runs(base, target, robot=robot) if base and target else None
    fields = [(s, request.GET.get(f"base_{s}", ""), request.GET.get(f"target_{s}", "")) for s in SELECTORS]
    return render(request, "compare.html", {"result": result, "fields": fields, "robot": robot})
