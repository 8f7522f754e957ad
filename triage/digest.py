"""Email digests of regressions (and, for who asks, new clusters), one per due subscription.

Beat runs `send_due` at a fixed time of day (TRIAGE_DIGEST_TIME in TRIAGE_TIMEZONE); a daily
subscription is due when its last digest run is 20 hours old or more, a weekly one on
TRIAGE_DIGEST_WEEKDAY (or when a week was missed). A digest lists what matched the subscription's
filters since it was made and was never sent to it (DigestItem is unique per subscription and item),
and is not sent when there is nothing to say.

Nothing is sent twice: the items and the message are recorded (committed) before the message goes to
the mail server. A server that refuses or is down leaves the digest failed, and the next run sends it;
a run killed while talking to the server leaves it pending and it is not sent again (at most once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from triage.models import Cluster, Crash, Digest, DigestItem, Regression, Subscription
from triage.regression_report import site_url
from triage.regressions import in_subsystem
from triage.subsystems import in_section

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "triage.unsubscribe"
DAILY_GAP = timedelta(hours=20)  # a daily subscription handled less than this ago is not due (beat jitter)
MAX_ATTEMPTS = 5  # of a failed digest


def unsubscribe_token(subscription: Subscription) -> str:
    return signing.dumps(subscription.pk, salt=UNSUBSCRIBE_SALT)


def subscription_from_token(token: str) -> Subscription | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Subscription.objects.filter(pk=pk).first()


def is_due(subscription: Subscription, now: datetime) -> bool:
    last = subscription.last_sent
    if subscription.frequency == Subscription.Frequency.DAILY:
        return last is None or now - last >= DAILY_GAP
    local = now.astimezone(ZoneInfo(settings.TRIAGE_TIMEZONE))
    if last is not None and now - last < DAILY_GAP:
        return False
    return local.weekday() == settings.TRIAGE_DIGEST_WEEKDAY or (last is not None and now - last > timedelta(days=7))


def _matching_regressions(subscription: Subscription):
    told = DigestItem.objects.filter(subscription=subscription, regression=OuterRef("pk"))
    regressions = Regression.objects.filter(created__gte=subscription.created,
                                            **{f"job__{k}": v for k, v in subscription.filters().items()})
    if subscription.subsystem:
        regressions = in_subsystem(regressions, subscription.subsystem)
    return (regressions.exclude(state=Regression.State.DISMISSED).exclude(Exists(told))
            .select_related("job", "cluster").order_by("created", "id"))


def _matching_clusters(subscription: Subscription):
    told = DigestItem.objects.filter(subscription=subscription, cluster=OuterRef("pk"))
    clusters = Cluster.objects.filter(created__gte=subscription.created, merged_into=None, crash_count__gt=0)
    if subscription.filters() or subscription.subsystem:
        # one crash of the cluster must match them all: seen in the job and in the subsystem
        seen = Crash.objects.filter(**{f"log__{k}": v for k, v in subscription.filters().items()})
        if subscription.subsystem:
            seen = seen.filter(in_section(subscription.subsystem))
        clusters = clusters.filter(pk__in=seen.values("cluster_id"))
    return clusters.exclude(Exists(told)).order_by("created", "id")


def _render(subscription: Subscription, regressions: list[Regression], clusters: list[Cluster],
            site: str) -> tuple[str, str, str]:
    items = [{"r": r, "url": site + r.get_absolute_url()} for r in regressions]
    new_clusters = [{"c": c, "url": site + c.get_absolute_url()} for c in clusters]
    parts = []
    if regressions:
        parts.append(f"{len(regressions)} new regression{'s' if len(regressions) != 1 else ''}")
    if clusters:
        parts.append(f"{len(clusters)} new cluster{'s' if len(clusters) != 1 else ''}")
    scope = " ".join(subscription.scope().values())
    subject = f"[triage] {' and '.join(parts)}" + (f" ({scope})" if scope else "")
    context = {"subscription": subscription, "regressions": items, "clusters": new_clusters, "site": site,
               "unsubscribe": site + reverse("unsubscribe", args=[unsubscribe_token(subscription)]),
               "settings_url": site + reverse("subscriptions")}
    return subject, render_to_string("digest.txt", context), render_to_string("digest.html", context)


def build_digest(subscription: Subscription, now: datetime, site: str) -> Digest | None:
    """Record the subscription's next digest and its items (committed), or None when there is nothing."""
    with transaction.atomic():
        locked = (Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("user").filter(pk=subscription.pk, active=True).first())
        if locked is None or not is_due(locked, now):  # another run has it, or handled it just now
            return None
        regressions = list(_matching_regressions(locked))
        clusters = list(_matching_clusters(locked)) if locked.clusters else []
        locked.last_sent = now
        locked.save(update_fields=["last_sent"])
        if not regressions and not clusters:
            return None
        subject, text, html = _render(locked, regressions, clusters, site)
        digest = Digest.objects.create(subscription=locked, subject=subject[:300], text=text, html=html,
                                       message_id=make_msgid("digest", urlsplit(site).hostname or None))
        DigestItem.objects.bulk_create([DigestItem(subscription=locked, digest=digest, regression=r) for r in regressions]
                                       + [DigestItem(subscription=locked, digest=digest, cluster=c) for c in clusters])
    return digest


def deliver(digest: Digest) -> bool:
    """Send a recorded digest; its status says how it went."""
    subscription = digest.subscription
    unsubscribe = site_url() + reverse("unsubscribe", args=[unsubscribe_token(subscription)])
    message = EmailMultiAlternatives(
        digest.subject, digest.text, settings.DEFAULT_FROM_EMAIL, [subscription.address],
        headers={"Message-ID": digest.message_id, "List-Unsubscribe": f"<{unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "Auto-Submitted": "auto-generated"})
    message.attach_alternative(digest.html, "text/html")
    Digest.objects.filter(pk=digest.pk).update(attempts=digest.attempts + 1)
    try:
        message.send()
    except Exception as exc:  # refused, or the server is down: the next run tries again
        log.warning("digest %s to %s not sent: %s", digest.pk, subscription.address, exc)
        Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return False
    Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.SENT, sent=timezone.now(), error="")
    return True


def team_subscriptions() -> None:
    """TRIAGE_DIGEST_RECIPIENTS (older setups): each address is a team subscription, made once."""
    for address in settings.TRIAGE_DIGEST_RECIPIENTS:
        if not Subscription.objects.filter(user=None, email=address).exists():
            Subscription.objects.create(email=address, name=f"{address} (TRIAGE_DIGEST_RECIPIENTS)", clusters=True)


def send_due(now: datetime | None = None) -> int:
    """Send the digests due now (and retry failed ones); the number of messages sent."""
    now = now or timezone.now()
    site = site_url()
    team_subscriptions()
    sent = 0
    for digest in (Digest.objects.filter(status=Digest.Status.FAILED, attempts__lt=MAX_ATTEMPTS,
                                         subscription__active=True).select_related("subscription__user")):
        sent += deliver(digest)
    due = Subscription.objects.filter(active=True).filter(Q(last_sent=None) | Q(last_sent__lte=now - DAILY_GAP))
    for subscription in due.select_related("user").order_by("pk"):
        if not subscription.address:
            continue
        digest = build_digest(subscription, now, site)
        if digest is not None:
            sent += deliver(digest)
    return sent
