"""Log pages: list, upload, one log with its lines, the raw file, re-queueing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage.forms import LogUploadForm
from triage.ingest import RejectedUpload, body_too_large, queue_analysis, read_lines, store_log
from triage.models import Log
from triage.permissions import can_triage, triage_required
from triage.views.common import page

QUEUED_LATER = ("Stored. The task queue cannot be reached right now: the analysis is queued "
                "automatically as soon as it is back.")
SHOWN_LINES = 20000  # of a log on its page; the rest is behind "raw"


def log_list(request: HttpRequest) -> HttpResponse:
    logs = Log.objects.all()
    for field in Log.METADATA + ("status",):
        if request.GET.get(field):
            logs = logs.filter(**{field: request.GET[field]})
    if request.GET.get("stat_key"):
        logs = logs.filter(stat_keys__key=request.GET["stat_key"])
    return render(request, "logs.html", {"page": page(request, logs)})


@login_required
def log_upload(request: HttpRequest) -> HttpResponse:
    too_large = request.method == "POST" and body_too_large(request, settings.TRIAGE_MAX_LOG_BYTES)
    if too_large:
        return render(request, "upload.html", {"form": LogUploadForm(), "error": too_large}, status=400)
    form = LogUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        metadata = {k: form.cleaned_data.get(k, "") for k in Log.METADATA}
        try:
            log, created = store_log(upload.chunks(), upload.name, metadata, request.user)
        except RejectedUpload as exc:
            form.add_error("file", str(exc))
            return render(request, "upload.html", {"form": form}, status=400)
        if not created:
            messages.info(request, "This log was uploaded before with the same metadata: here it is.")
        elif log.queued is not None and log.queued.sent is False:
            messages.warning(request, QUEUED_LATER)
        else:
            messages.success(request, f"Uploaded {log} ({log.size:,} bytes): queued for analysis.")
        return redirect(log)
    return render(request, "upload.html", {"form": form}, status=400 if form.errors else 200)


def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_object_or_404(Log, pk=pk)
    live = {"log": log, "can_requeue": can_triage(request.user)}
    if request.GET.get("part") == "live":  # the status block alone, polled by the page while analysed
        crashes = list(log.crashes.select_related("cluster"))
        return render(request, "_log_live.html", live | {"crashes": crashes, "fresh": True})
    try:
        lines, truncated = read_lines(log, SHOWN_LINES)
    except OSError:
        lines, truncated = [], False
    crashes = list(log.crashes.select_related("cluster"))
    marks = {}
    for crash in crashes:
        for n in range(crash.start_line, crash.end_line + 1):
            marks.setdefault(n, crash)
    numbered = [(n + 1, line, marks.get(n)) for n, line in enumerate(lines)]
    return render(request, "log.html", live | {
        "crashes": crashes, "lines": numbered, "truncated": truncated,
        "stat_keys": [k.key for k in log.stat_keys.all()],
    })


def log_raw(request: HttpRequest, pk: int) -> FileResponse:
    log = get_object_or_404(Log, pk=pk)
    return FileResponse(default_storage.open(log.raw, "rb"), content_type="text/plain; charset=utf-8")


@triage_required
@require_POST
def log_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_object_or_404(Log, pk=pk)
    if log.status in (Log.Status.QUEUED, Log.Status.RUNNING):  # one analysis of a log at a time
        messages.info(request, f"This log is already {log.status}: it was not queued again.")
        return redirect(log)
    queued = queue_analysis(log)
    messages.info(request, "Queued for analysis again." if queued.sent is not False else QUEUED_LATER)
    return redirect(log)
