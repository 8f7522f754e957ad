"""Regression pages: the list (newest first, filtered) and one regression with its report text."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from triage import listing
from triage.models import Job, Log, Regression
from triage.regression_report import report_text, side
from triage.regressions import in_subsystem
from triage.subsystems import filed_names
from triage.views.common import page

RUNS_SHOWN = 20  # runs of the first bad commit on a regression's page


def regression_filters() -> list[listing.Filter]:
    """The job's fields and the state keep their old parameter names: shared URLs still work."""
    return [
        *[listing.field_filter(f, f, f"job__{f}", model=Job) for f in Log.JOB],
        listing.Filter("state", "state", lambda qs, v: qs.filter(state=v), choices=lambda: Regression.State.choices,
                       select=True),
        listing.Filter("subsystem", "subsystem", in_subsystem, choices=filed_names),
        listing.commit_filter("first_bad_commit"),
        listing.since_filter("since", "found since", "created"),
        listing.before_filter("before", "found before", "created"),
    ]


REGRESSION_SORTS = {"found": "created", "title": "title", "cluster": "cluster_id", "commit": "first_bad_commit",
                    "state": "state", "p": "p_value"}


def regression_list(request: HttpRequest) -> HttpResponse:
    regressions, shown = listing.apply(request.GET, Regression.objects.select_related("job", "cluster"),
                                       regression_filters(), REGRESSION_SORTS, "-found")
    return render(request, "regressions.html", {"page": page(request, regressions), "listing": shown})


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
