"""Crash pages: the list and one crash with its report and decoded trace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from triage.frames import frame_rows
from triage.ingest import read_lines
from triage.models import Crash, VanishedCrash
from triage.views.common import page


def crash_list(request: HttpRequest) -> HttpResponse:
    crashes = Crash.objects.select_related("log", "cluster")
    if request.GET.get("kind"):
        crashes = crashes.filter(kind=request.GET["kind"])
    return render(request, "crashes.html", {"page": page(request, crashes)})


def crash_detail(request: HttpRequest, pk: int) -> HttpResponse:
    crash = Crash.objects.select_related("log", "cluster", "log__build").filter(pk=pk).first()
    if crash is None:
        # A re-analysis (parser change) no longer finds this report: say so, and where its log is.
        gone = get_object_or_404(VanishedCrash.objects.select_related("log"), pk=pk)
        return render(request, "crash_gone.html", {"gone": gone}, status=410)
    try:
        lines, _ = read_lines(crash.log, crash.end_line + 1)
    except OSError:
        lines = []
    text = "\n".join(lines[crash.start_line:crash.end_line + 1])
    return render(request, "crash.html", {"crash": crash, "text": text, "report": crash.report,
                                          "frames": frame_rows(crash.report, crash.decoded)})
