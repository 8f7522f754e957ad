"""Who may triage: one Django permission, granted by the admin through the "triagers" group."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

TRIAGE_PERMISSION = "triage.triage_clusters"
TRIAGERS_GROUP = "triagers"


def can_triage(user) -> bool:
    """Merge, split, rename, set status, add links and notes, re-queue analyses."""
    return bool(user and user.is_authenticated and user.has_perm(TRIAGE_PERMISSION))


def triage_required(view):
    """Anonymous users go to the login page; signed-in users without the permission get a 403."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_triage(request.user):
            raise PermissionDenied("triaging needs the triage permission (the 'triagers' group)")
        return view(request, *args, **kwargs)
    return wrapped
