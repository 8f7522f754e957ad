"""Login throttling, in the cache (Redis in production) as django-axes does it in its tables.

Wrong passwords are counted per (address, username) and per address; past the limits every login of
that pair (or address) is refused for TRIAGE_LOGIN_LOCKOUT seconds, right password or not, by an
authentication backend (so the admin's login is throttled too). A cache that cannot be
reached does not lock anyone out: it only stops counting.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

log = logging.getLogger(__name__)
PER_ADDRESS = 10  # times the per-user limit: one address trying many names


def address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "-") if request is not None else "-"


def keys(request, username: str | None) -> list[tuple[str, int]]:
    name = hashlib.sha256((username or "").lower().encode()).hexdigest()[:32]
    limit = settings.TRIAGE_LOGIN_FAILURES
    return [(f"login-fail:{address(request)}:{name}", limit), (f"login-fail:{address(request)}", limit * PER_ADDRESS)]


def locked(request, username: str | None) -> bool:
    try:
        counts = cache.get_many([k for k, _ in keys(request, username)])
    except Exception as exc:
        log.warning("login throttling is off, the cache failed: %s", exc)
        return False
    return any(counts.get(k, 0) >= limit for k, limit in keys(request, username))


class ThrottleBackend(ModelBackend):
    """Django's own backend that refuses a locked-out login before any password is checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if locked(request, username or kwargs.get(get_user_model().USERNAME_FIELD)):
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs) -> None:
    for key, _ in keys(request, credentials.get("username")):
        try:
            cache.add(key, 0, settings.TRIAGE_LOGIN_LOCKOUT)
            cache.incr(key)
        except Exception as exc:
            log.warning("cannot count a failed login: %s", exc)


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs) -> None:
    try:
        cache.delete(keys(request, user.get_username())[0][0])
    except Exception as exc:
        log.warning("cannot reset failed logins: %s", exc)


def login_form():
    """The login form, saying plainly when logins are locked out (the backend refuses them anyway)."""
    from django import forms
    from django.contrib.auth.forms import AuthenticationForm

    class ThrottledAuthenticationForm(AuthenticationForm):
        def clean(self):
            if locked(self.request, self.cleaned_data.get("username")):
                minutes = settings.TRIAGE_LOGIN_LOCKOUT // 60
                raise forms.ValidationError(f"Too many failed logins: try again in {minutes} minutes.",
                                            code="locked")
            return super().clean()

    return ThrottledAuthenticationForm
