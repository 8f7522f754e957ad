"""The home page and the health check."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from triage import charts
from triage.models import Cluster, Crash, Log, Regression

WEEK = 7


def home(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=WEEK)
    new_clusters = (Cluster.objects.filter(merged_into=None, crash_count__gt=0, first_seen__gte=since)
                    .order_by("-crash_count", "-pk"))
    new_regressions = Regression.objects.filter(created__gte=since).select_related("job").order_by("-created", "-pk")
    return render(request, "home.html", {
        "week_chart": charts.logs_crashes_per_day(days=WEEK), "week_ago": since,
        "new_clusters": new_clusters[:10], "new_cluster_count": new_clusters.count(),
        "new_regressions": new_regressions[:10], "new_regression_count": new_regressions.count(),
        "clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0).prefetch_related("links")[:15],
        # newest by id (the order of analysis): no sort of every crash by its log's upload time
        "crashes": Crash.objects.for_rows().order_by("-id")[:15],
        "logs": Log.objects.all()[:10],
        # the logs' denormalized crash counts: one pass over the small log table, not the crash table
        "counts": Log.objects.aggregate(logs=Count("id"), crashes=Coalesce(Sum("crash_count"), 0))
        | {"clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0).count()},
    })


@login_not_required  # load balancers and compose healthchecks have no login
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the static SVG."""
    return redirect(static("favicon.svg"), permanent=True)
