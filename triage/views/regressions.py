"""Regression pages: the list (newest first, filtered) and one regression with its report text."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from triage.models import Log, Regression
from triage.regression_report import report_text, side
from triage.views.common import page

FILTERS = (*Log.JOB, "state")
RUNS_SHOWN = 20  # runs of the first bad commit on a regression's page


def filtered(params) -> tuple[object, dict[str, str]]:
    """Regressions matching ?tree=&branch=&config=&arch=&test=&state= (empty: any)."""
    regressions = Regression.objects.select_related("job", "cluster")
    chosen = {f: params.get(f, "").strip() for f in FILTERS if params.get(f, "").strip()}
    for name, value in chosen.items():
        regressions = regressions.filter(**{name if name == "state" else f"job__{name}": value})
    return regressions, chosen


def regression_list(request: HttpRequest) -> HttpResponse:
    regressions, chosen = filtered(request.GET)
    return render(request, "regressions.html", {
        "page": page(request, regressions), "chosen": chosen,
        "filter_values": [(f, chosen.get(f, "")) for f in Log.JOB],
        "states": Regression.State.choices})


def regression_detail(request: HttpRequest, pk: int) -> HttpResponse:
    regression = get_object_or_404(Regression.objects.select_related("job", "cluster"), pk=pk)
    good = side(regression, regression.last_good_commit)
    bad = side(regression, regression.first_bad_commit)
    text = report_text(regression, good, bad, request)
    if request.GET.get("format") == "text":
        return HttpResponse(text, content_type="text/plain; charset=utf-8")
    runs = Log.objects.filter(status=Log.Status.DONE, commit=regression.first_bad_commit, **regression.job.filters())
    logs_url = "?".join([reverse("logs"), urlencode({"commit": regression.first_bad_commit, **regression.job.filters()})])
    return render(request, "regression.html", {"regression": regression, "text": text, "good": good, "bad": bad,
                                               "runs": runs[:RUNS_SHOWN], "logs_url": logs_url})
