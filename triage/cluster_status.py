"""A cluster's triage state: status (open, fixed by a commit, invalid, duplicate of another), links
and notes. Each change is a ClusterEvent with who and when, like merges and renames; notes are events.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from triage.clusters import ClusterEditError, live
from triage.models import Cluster, ClusterEvent, ClusterLink

MAX_NOTE = 10_000


def _cluster(pk: int) -> Cluster:
    cluster = Cluster.objects.select_for_update().filter(pk=pk).first()
    if cluster is None:
        raise ClusterEditError("no such cluster")
    return cluster


def describe(cluster: Cluster) -> str:
    if cluster.status == Cluster.Status.FIXED:
        return f"fixed by {cluster.fixed_commit}" if cluster.fixed_commit else "fixed"
    if cluster.status == Cluster.Status.DUPLICATE and cluster.duplicate_of_id:
        return f"duplicate of #{cluster.duplicate_of_id}"
    return cluster.status


def set_status(pk: int, status: str, user=None, fixed_commit: str = "", duplicate_of: int | None = None) -> Cluster:
    """Set the status; fixed needs no commit but keeps one, duplicate needs the other cluster."""
    if status not in Cluster.Status.values:
        raise ClusterEditError(f"unknown status {status!r}: one of {', '.join(Cluster.Status.values)}")
    fixed_commit = (fixed_commit or "").strip()
    if len(fixed_commit) > 64 or any(c.isspace() for c in fixed_commit):
        raise ClusterEditError("the fixing commit is one commit id (at most 64 characters)")
    with transaction.atomic():
        cluster = _cluster(pk)
        original = None
        if status == Cluster.Status.DUPLICATE:
            original = Cluster.objects.filter(pk=duplicate_of).first() if duplicate_of else None
            if original is None:
                raise ClusterEditError("say which cluster this one duplicates (its number)")
            original = live(original)
            if original.pk == cluster.pk:
                raise ClusterEditError("a cluster cannot duplicate itself")
        before = describe(cluster)
        cluster.status = status
        cluster.fixed_commit = fixed_commit if status == Cluster.Status.FIXED else ""
        cluster.duplicate_of = original
        cluster.status_by, cluster.status_changed = (user if user and user.is_authenticated else None), timezone.now()
        cluster.save(update_fields=["status", "fixed_commit", "duplicate_of", "status_by", "status_changed"])
        ClusterEvent.objects.create(cluster=cluster, action="status", detail=f"{before} → {describe(cluster)}",
                                    user=cluster.status_by)
    return cluster


def add_link(pk: int, url: str, label: str = "", user=None) -> ClusterLink:
    url, label = (url or "").strip(), (label or "").strip()[:200]
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ClusterEditError("a link is an http(s) URL") from None
    with transaction.atomic():
        cluster = _cluster(pk)
        user = user if user and user.is_authenticated else None
        link = ClusterLink.objects.create(cluster=cluster, url=url, label=label, user=user)
        ClusterEvent.objects.create(cluster=cluster, action="link", detail=f"{label or 'link'}: {url}", user=user)
    return link


def remove_link(pk: int, link_id: int, user=None) -> None:
    with transaction.atomic():
        cluster = _cluster(pk)
        link = ClusterLink.objects.filter(cluster=cluster, pk=link_id).first()
        if link is None:
            raise ClusterEditError("no such link")
        link.delete()
        ClusterEvent.objects.create(cluster=cluster, action="unlink", detail=f"{link.label or 'link'}: {link.url}",
                                    user=user if user and user.is_authenticated else None)


def add_note(pk: int, text: str, user=None) -> ClusterEvent:
    text = (text or "").strip()
    if not text:
        raise ClusterEditError("the note is empty")
    if len(text) > MAX_NOTE:
        raise ClusterEditError(f"a note is at most {MAX_NOTE} characters")
    with transaction.atomic():
        cluster = _cluster(pk)
        return ClusterEvent.objects.create(cluster=cluster, action="note", detail=text,
                                           user=user if user and user.is_authenticated else None)
