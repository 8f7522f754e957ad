"""Email digests: who subscribes to what, what was sent to whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from triage.models.clusters import Cluster
from triage.models.logs import Log
from triage.models.regressions import Regression


class Subscription(models.Model):
    """Who gets digests of what: a person (their address) or a team list set up by an admin."""

    class Frequency(models.TextChoices):
        DAILY = "daily"
        WEEKLY = "weekly"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="subscriptions")
    email = models.EmailField(blank=True, help_text="a team address (mailing list); empty: the user's own")
    name = models.CharField(max_length=100, blank=True)
    tree = models.CharField(max_length=200, blank=True)  # the job filters: empty matches any
    branch = models.CharField(max_length=200, blank=True)
    config = models.CharField(max_length=200, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    test = models.CharField(max_length=200, blank=True)
    # A MAINTAINERS section (Crash.subsystem): regressions and new clusters with crashes in it; empty: any.
    subsystem = models.CharField(max_length=200, blank=True, default="")
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    clusters = models.BooleanField(default=False, help_text="also new crash clusters, not only regressions")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_sent = models.DateTimeField(null=True, blank=True)  # last digest run that handled it

    def __str__(self) -> str:
        return self.name or f"{self.address} {self.frequency}"

    @property
    def address(self) -> str:
        return self.email or (self.user.email if self.user else "")

    def filters(self) -> dict[str, str]:
        """The job filters that are set (matched against a regression's job or a crash's log)."""
        return {f: getattr(self, f) for f in Log.JOB if getattr(self, f)}

    def scope(self) -> dict[str, str]:
        """Everything the subscription narrows by, as people read it: the job filters and the subsystem."""
        return {**self.filters(), **({"subsystem": self.subsystem} if self.subsystem else {})}


class Digest(models.Model):
    """One digest email. Its items are recorded before it is sent: a run that dies never sends twice."""

    class Status(models.TextChoices):
        PENDING = "pending"  # recorded, being sent (left so by a killed run: not sent again)
        SENT = "sent"
        FAILED = "failed"  # the mail server refused or was down: the next run tries again

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="digests")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField()
    message_id = models.CharField(max_length=300)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField(null=True, blank=True)


class DigestItem(models.Model):
    """A regression or cluster a subscription was told about: never twice."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    regression = models.ForeignKey(Regression, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "regression"], condition=models.Q(regression__isnull=False),
                                    name="one_digest_per_regression"),
            models.UniqueConstraint(fields=["subscription", "cluster"], condition=models.Q(cluster__isnull=False),
                                    name="one_digest_per_cluster"),
        ]


# --- API (issue 10): scoped tokens, vanished crashes ----------------------------------------------
