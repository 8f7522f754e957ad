"""Log pages: list, upload, one log with its lines, the raw file, re-queueing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage import listing
from triage.forms import LogUploadForm
from triage.ingest import RejectedUpload, body_too_large, queue_analysis, read_lines, store_log
from triage.models import Log
from triage.permissions import can_triage, triage_required
from triage.views.common import page

QUEUED_LATER = ("Stored. The task queue cannot be reached right now: the analysis is queued "
                "automatically as soon as it is back.")
SHOWN_LINES = 5000  # of a log on its page at a time (`?from=N` for more); all of it is behind "raw"
CRASHES_SHOWN = 100  # crashes (and notices) listed on a log's page at a time


def log_filters() -> list[listing.Filter]:
    return [
        listing.Filter("status", "status", lambda qs, v: qs.filter(status=v), choices=lambda: Log.Status.choices,
                       select=True),
        *[listing.field_filter(f, f, f) for f in ("tree", "branch", "config", "arch", "test", "machine")],
        listing.commit_filter(),
        listing.Filter("run_id", "run", lambda qs, v: qs.filter(run_id=v)),
        listing.Filter("stat_key", "stat key", lambda qs, v: qs.filter(stat_keys__key=v)),
        listing.since_filter("since", "since", "created"),
        listing.before_filter("before", "before", "created"),
    ]


# Every column but the machine (a sort nobody asked for): each is read in order from a (column, id)
# index, so that sorting by a column of four values does not sort a quarter of the logs per page.
LOG_SORTS = {"uploaded": "created", "crashes": "crash_count", "name": "filename", "status": "status",
             "tree": "tree", "commit": "commit", "config": "config", "arch": "arch", "test": "test"}


def log_list(request: HttpRequest) -> HttpResponse:
    logs, shown = listing.apply(request.GET, Log.objects.all(), log_filters(), LOG_SORTS, "-uploaded")
    return render(request, "logs.html", {"page": page(request, logs), "listing": shown})


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
    """One log: its crashes a page at a time and a window of its lines (`?from=N`), so that the page
    of the largest allowed log costs a bounded amount of memory and HTML."""
    log = get_object_or_404(Log, pk=pk)
    live = {"log": log, "can_requeue": can_triage(request.user)}
    if request.GET.get("part") == "live":  # the status block alone, polled by the page while analysed
        crashes = page(request, log.crashes.select_related("cluster").defer("report", "decoded", "alt_titles"),
                       CRASHES_SHOWN, param="crashes")
        return render(request, "_log_live.html", live | {"crashes": crashes, "fresh": True})
    try:
        first = max(0, int(request.GET.get("from") or 0))
    except ValueError:
        first = 0
    try:
        lines, more = read_lines(log, first + SHOWN_LINES, start=first)
    except OSError:
        lines, more = [], False
    last = first + len(lines) - 1
    crashes = page(request, log.crashes.select_related("cluster").defer("report", "decoded", "alt_titles"),
                   CRASHES_SHOWN, param="crashes")
    marks = {}
    for start, end in log.crashes.filter(start_line__lte=last, end_line__gte=first).values_list(
            "start_line", "end_line"):
        for n in range(max(start, first), min(end, last) + 1):
            marks[n] = True
    numbered = [(first + i + 1, line, marks.get(first + i)) for i, line in enumerate(lines)]
    return render(request, "log.html", live | {
        "crashes": crashes, "lines": numbered, "truncated": more or first > 0,
        "first": first, "next_from": first + SHOWN_LINES if more else None,
        "prev_from": max(0, first - SHOWN_LINES) if first else None, "window": SHOWN_LINES,
        "notices": log.notices[:CRASHES_SHOWN], "stat_keys": [k.key for k in log.stat_keys.all()[:CRASHES_SHOWN]],
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
