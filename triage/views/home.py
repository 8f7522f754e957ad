"""The home page and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from triage.models import Cluster, Crash, Log


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {
        "clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0).prefetch_related("links")[:15],
        "crashes": Crash.objects.select_related("log", "cluster")[:15],
        "logs": Log.objects.all()[:10],
        "counts": {"logs": Log.objects.count(), "crashes": Crash.objects.count(),
                   "clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0).count()},
    })


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
