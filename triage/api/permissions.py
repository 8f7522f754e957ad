"""Who may call what: token scopes (upload, read, triage), the triage permission, public read.

A request made with a token may do only what the token's scopes allow; a browser session may do
what its user may. Reading needs a login or a token unless TRIAGE_PUBLIC_READ is on; writing always
needs rights.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import permissions

from triage.models import ApiToken
from triage.permissions import can_triage

READ, UPLOAD, TRIAGE = ApiToken.Scope.READ, ApiToken.Scope.UPLOAD, ApiToken.Scope.TRIAGE


def required_scope(request, view) -> str:
    """`read` for GET/HEAD/OPTIONS, else the view's `write_scope` (upload unless it says otherwise)."""
    if request.method in permissions.SAFE_METHODS:
        return READ
    return getattr(view, "write_scope", UPLOAD)


class ScopedPermission(permissions.BasePermission):
    """The default of every API view."""

    def has_permission(self, request, view) -> bool:
        scope = required_scope(request, view)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and scope not in token.scopes:
            self.message = f"this token does not have the '{scope}' scope (it has: {', '.join(token.scopes)})"
            return False
        if scope == READ and settings.TRIAGE_PUBLIC_READ:
            return True
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 with `WWW-Authenticate: Token`
        if scope == TRIAGE and not can_triage(request.user):
            self.message = "triaging needs the triage permission (the 'triagers' group)"
            return False
        return True


class TriageScope(ScopedPermission):
    """For views whose writes are triage (cluster edits, status, links, notes): same rules."""

    def has_permission(self, request, view) -> bool:
        view.write_scope = TRIAGE
        return super().has_permission(request, view)
