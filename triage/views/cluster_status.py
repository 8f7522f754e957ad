"""People's triage of a cluster from its page: status, links, notes (the triage permission)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from triage import cluster_status
from triage.clusters import ClusterEditError
from triage.permissions import triage_required


def _do(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    try:
        action()
    except ClusterEditError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, done)
    return redirect("cluster", pk=pk)


@triage_required
@require_POST
def cluster_status_edit(request: HttpRequest, pk: int) -> HttpResponse:
    raw = request.POST.get("duplicate_of", "").strip().lstrip("#")
    duplicate_of = int(raw) if raw.isdigit() else None
    return _do(request, pk, lambda: cluster_status.set_status(
        pk, request.POST.get("status", ""), request.user, request.POST.get("fixed_commit", ""), duplicate_of),
        "Status changed.")


@triage_required
@require_POST
def cluster_link_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _do(request, pk, lambda: cluster_status.add_link(pk, request.POST.get("url", ""),
                                                            request.POST.get("label", ""), request.user), "Link added.")


@triage_required
@require_POST
def cluster_link_remove(request: HttpRequest, pk: int, link: int) -> HttpResponse:
    return _do(request, pk, lambda: cluster_status.remove_link(pk, link, request.user), "Link removed.")


@triage_required
@require_POST
def cluster_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _do(request, pk, lambda: cluster_status.add_note(pk, request.POST.get("text", ""), request.user),
               "Note added.")
