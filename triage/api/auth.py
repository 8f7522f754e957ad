"""`Authorization: Token <key>` against the hashed, scoped tokens of triage.models.ApiToken."""

from __future__ import annotations

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from triage.tokens import find_token


class ScopedTokenAuthentication(TokenAuthentication):
    """DRF's header form (`Token <key>`); `request.auth` is the ApiToken, whose scopes the
    permissions in triage.api.permissions check."""

    def authenticate_credentials(self, key: str):
        token = find_token(key)
        if token is None:
            raise AuthenticationFailed("invalid token: it does not exist or was revoked")
        if not token.user.is_active:
            raise AuthenticationFailed("the token's user is inactive")
        return token.user, token
