"""Server-rendered pages: logs, crashes, clusters, builds."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage.builds import store_build
from triage.forms import BuildUploadForm, LogUploadForm
from triage.ingest import RejectedUpload, queue_analysis, read_raw, store_log
from triage.models import Build, Cluster, Crash, Log

PAGE = 50


def page(request: HttpRequest, queryset, size: int = PAGE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {
        "clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0)[:15],
        "crashes": Crash.objects.select_related("log", "cluster")[:15],
        "logs": Log.objects.all()[:10],
        "counts": {"logs": Log.objects.count(), "crashes": Crash.objects.count(),
                   "clusters": Cluster.objects.filter(merged_into=None, crash_count__gt=0).count()},
    })


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def log_list(request: HttpRequest) -> HttpResponse:
    logs = Log.objects.all()
    for field in Log.METADATA + ("status",):
        if request.GET.get(field):
            logs = logs.filter(**{field: request.GET[field]})
    return render(request, "logs.html", {"page": page(request, logs)})


@login_required
def log_upload(request: HttpRequest) -> HttpResponse:
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
        return redirect(log)
    return render(request, "upload.html", {"form": form}, status=400 if form.errors else 200)


def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_object_or_404(Log, pk=pk)
    try:
        raw = read_raw(log)
    except OSError:
        raw = b""
    lines = raw.decode("utf-8", "replace").splitlines()
    crashes = list(log.crashes.select_related("cluster"))
    marks = {}
    for crash in crashes:
        for n in range(crash.start_line, crash.end_line + 1):
            marks.setdefault(n, crash)
    numbered = [(n + 1, line.rstrip("\r"), marks.get(n)) for n, line in enumerate(lines[:20000])]
    return render(request, "log.html", {
        "log": log, "crashes": crashes, "lines": numbered, "truncated": len(lines) > 20000,
        "stat_keys": [k.key for k in log.stat_keys.all()],
    })


def log_raw(request: HttpRequest, pk: int) -> FileResponse:
    from django.conf import settings

    log = get_object_or_404(Log, pk=pk)
    return FileResponse(open(settings.MEDIA_ROOT / log.raw, "rb"), content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def log_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_object_or_404(Log, pk=pk)
    queue_analysis(log)
    messages.info(request, "Queued for analysis again.")
    return redirect(log)


def crash_list(request: HttpRequest) -> HttpResponse:
    crashes = Crash.objects.select_related("log", "cluster")
    if request.GET.get("kind"):
        crashes = crashes.filter(kind=request.GET["kind"])
    return render(request, "crashes.html", {"page": page(request, crashes)})


def crash_detail(request: HttpRequest, pk: int) -> HttpResponse:
    crash = get_object_or_404(Crash.objects.select_related("log", "cluster", "log__build"), pk=pk)
    try:
        lines = read_raw(crash.log).decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    text = "\n".join(line.rstrip("\r") for line in lines[crash.start_line:crash.end_line + 1])
    return render(request, "crash.html", {"crash": crash, "text": text, "report": crash.report})


def cluster_list(request: HttpRequest) -> HttpResponse:
    clusters = Cluster.objects.filter(merged_into=None, crash_count__gt=0)
    return render(request, "clusters.html", {"page": page(request, clusters)})


def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    if cluster.merged_into_id:
        return redirect(cluster.merged_into)
    crashes = Crash.objects.filter(cluster__in=[cluster, *cluster.merged.all()]).select_related("log")
    return render(request, "cluster.html", {"cluster": cluster, "page": page(request, crashes),
                                            "titles": cluster.titles.all(), "events": cluster.events.all()[:20]})


def build_list(request: HttpRequest) -> HttpResponse:
    return render(request, "builds.html", {"page": page(request, Build.objects.all())})


def build_detail(request: HttpRequest, pk: int) -> HttpResponse:
    build = get_object_or_404(Build, pk=pk)
    return render(request, "build.html", {"build": build, "files": build.files.all(),
                                          "logs": build.logs.all()[:50]})


@login_required
def build_upload(request: HttpRequest) -> HttpResponse:
    form = BuildUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        metadata = {k: form.cleaned_data.get(k, "") for k in ("tree", "branch", "commit", "config")}
        try:
            build = store_build(form.cleaned_data["vmlinux"], form.cleaned_data["modules"], metadata)
        except RejectedUpload as exc:
            form.add_error(None, str(exc))
            return render(request, "build_upload.html", {"form": form}, status=400)
        return redirect(build)
    return render(request, "build_upload.html", {"form": form}, status=400 if form.errors else 200)
