"""Who may read pages: a private instance (the default) needs a login for every page and raw log.

TRIAGE_PUBLIC_READ=1 opens reading to everyone (like syzbot's dashboard); writing always needs rights
(the views check them). The API decides for itself (tokens are read by DRF, after middleware).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware


class PrivateInstanceMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if settings.TRIAGE_PUBLIC_READ or request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
