"""API tokens: named, scoped, stored as a sha256 (a leaked database leaks no usable key), shown once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from triage.models import ApiToken

ALL_SCOPES = [s.value for s in ApiToken.Scope]
LAST_USED_EVERY = timedelta(minutes=1)  # one write a minute per token at most, not one per request


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(user, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
    """A new token and its key; the key exists only in the answer, the database keeps its hash."""
    scopes = [s for s in ALL_SCOPES if s in set(scopes)]
    if not scopes:
        raise ValueError("choose at least one scope")
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, name=(name.strip() or "token")[:100], key_hash=hash_key(key),
                                    prefix=key[:8], scopes=scopes)
    return token, key


def find_token(key: str) -> ApiToken | None:
    """The token a key belongs to (with its user), marking it used."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is not None:
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
            token.last_used = now
    return token
