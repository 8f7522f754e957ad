"""Build pages: list, upload, one build with its files and logs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage import listing
from triage.builds import queue_index, reindex_refusal, store_build
from triage.forms import BuildUploadForm
from triage.ingest import RejectedUpload, body_too_large
from triage.models import Build
from triage.permissions import can_triage, triage_required
from triage.views.common import page


def build_filters() -> list[listing.Filter]:
    return [
        listing.Filter("index", "index", lambda qs, v: qs.filter(index_status=v), choices=lambda: Build.Index.choices,
                       select=True),
        *[listing.field_filter(f, f, f, model=Build) for f in ("tree", "branch", "config", "arch")],
        listing.commit_filter(),
        listing.Filter("release", "release", lambda qs, v: qs.filter(release__icontains=v)),
    ]


BUILD_SORTS = {"uploaded": "created", "release": "release", "arch": "arch", "commit": "commit"}


def build_list(request: HttpRequest) -> HttpResponse:
    builds, shown = listing.apply(request.GET, Build.objects.all(), build_filters(), BUILD_SORTS, "-uploaded")
    return render(request, "builds.html", {"page": page(request, builds), "listing": shown})


def build_detail(request: HttpRequest, pk: int) -> HttpResponse:
    build = get_object_or_404(Build, pk=pk)
    if request.GET.get("part") == "live":  # the index status alone, polled by the page while indexing
        return render(request, "_build_live.html", {"build": build})
    return render(request, "build.html", {"build": build, "files": build.files.all(),
                                          "logs": build.logs.all()[:50], "can_triage": can_triage(request.user)})


@login_required
def build_upload(request: HttpRequest) -> HttpResponse:
    too_large = request.method == "POST" and body_too_large(request, settings.TRIAGE_MAX_BUILD_BYTES)
    if too_large:
        return render(request, "build_upload.html", {"form": BuildUploadForm(), "error": too_large}, status=400)
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


@triage_required
@require_POST
def build_reindex(request: HttpRequest, pk: int) -> HttpResponse:
    """Index a build again: after a failure, or when its worker was lost."""
    build = get_object_or_404(Build, pk=pk)
    refusal = reindex_refusal(build)
    if refusal:
        messages.info(request, f"Not indexed again: {refusal}.")
        return redirect(build)
    queued = queue_index(build)
    messages.info(request, "Queued for indexing again." if queued.sent is not False else
                  "Stored. The task queue cannot be reached right now: indexing is queued as soon as it is back.")
    return redirect(build)
