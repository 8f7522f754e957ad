"""The email digest: clusters first seen, and clusters seen again, since the last digest period."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Max, Min
from django.template.loader import render_to_string
from django.utils import timezone

from triage.models import Cluster, Crash, Log


def digest_context(since, until) -> dict:
    crashes = Crash.objects.filter(log__created__gte=since, log__created__lt=until, cluster__isnull=False)
    seen = (crashes.values("cluster").annotate(n=Count("id"), runs=Count("log", distinct=True),
                                               commits=Count("log__commit", distinct=True),
                                               last=Max("log__created"), first=Min("log__created")))
    by_id = {row["cluster"]: row for row in seen}
    clusters = Cluster.objects.filter(pk__in=by_id).order_by("-crash_count")
    new, again = [], []
    for cluster in clusters:
        row = {**by_id[cluster.pk], "cluster": cluster, "url": settings.SITE_URL + cluster.get_absolute_url()}
        (new if cluster.first_seen and cluster.first_seen >= since else again).append(row)
    runs = Log.objects.filter(created__gte=since, created__lt=until).count()
    return {"since": since, "until": until, "new": new, "again": again, "runs": runs, "site": settings.SITE_URL}


def send_digest(hours: int = 24, recipients: list[str] | None = None) -> int:
    """Email the digest of the last `hours`; returns the number of messages sent (0 when nothing new)."""
    recipients = recipients if recipients is not None else settings.TRIAGE_DIGEST_RECIPIENTS
    until = timezone.now()
    context = digest_context(until - timedelta(hours=hours), until)
    if not recipients or not context["new"]:
        return 0
    subject = f"[triage] {len(context['new'])} new crash cluster(s) in {context['runs']} runs"
    body = render_to_string("digest.txt", context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
