"""Per-token rate limits over Django's cache: Redis in production, so they hold across web processes."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from triage.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """TRIAGE_API_RATE per token (or per signed-in user), TRIAGE_API_ANON_RATE per address."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.TRIAGE_API_RATE  # read per request: tests and admins change it at run time

    def allow_request(self, request, view):
        self.rate = settings.TRIAGE_API_RATE if request.user and request.user.is_authenticated \
            else settings.TRIAGE_API_ANON_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"addr-{self.get_ident(request)}"
        return f"triage-throttle-{ident}"
