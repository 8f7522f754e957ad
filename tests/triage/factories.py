"""Plain factory functions for tests: real rows made the way the app makes them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from triage.ingest import store_log
from triage.models import Log


def make_user(username: str = "bot"):
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def make_token(username: str = "bot") -> str:
    return Token.objects.get_or_create(user=make_user(username))[0].key


def make_log(data: bytes, filename: str = "dmesg.txt", **metadata: str) -> Log:
    log, _ = store_log(iter([data]), filename, metadata)
    return log
