"""Requests refused before they cost anything, and the headers every answer carries.

- RefuseAnonymousUploads: an upload without credentials is answered before its body is read (the
  CSRF middleware would otherwise read a slow client's whole body first, holding a sync worker).
- RefuseNulBytes: PostgreSQL text columns cannot hold NUL; a parameter with one is a 400 with the
  reason, never a 500, and nothing of the upload is stored.
- ContentSecurityPolicy: the app serves its own static files and no inline script.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

UPLOAD_PATHS = ("/logs/upload/", "/builds/upload/", "/api/logs/", "/api/builds/")


def api_error(message: str, code: str, status: int) -> JsonResponse:
    from triage.api.errors import error_body  # the API's one error shape

    return JsonResponse(error_body(message, code), status=status)


def token_user(request: HttpRequest):
    """The user of the request's API credentials (header only: nothing of the body is read)."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import APIException
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    drf_request = Request(request)
    for auth_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(auth_class, SessionAuthentication):  # checks CSRF, which reads the body
            continue
        try:
            found = auth_class().authenticate(drf_request)
        except APIException:
            return None
        if found:
            return found[0]
    return None


class RefuseAnonymousUploads:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in UPLOAD_PATHS and not self.allowed(request):
            if request.path.startswith("/api/"):
                response = api_error("invalid token: it does not exist or was revoked", "authentication_failed", 401) \
                    if request.META.get("HTTP_AUTHORIZATION") else \
                    api_error("authentication needed: send 'Authorization: Token ...'", "not_authenticated", 401)
                response["WWW-Authenticate"] = "Token"
            else:
                response = redirect_to_login(request.get_full_path())
            if not request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer"):  # wsgiref forbids it
                response["Connection"] = "close"  # the unread body is not worth the connection
            return response
        return self.get_response(request)

    @staticmethod
    def allowed(request: HttpRequest) -> bool:
        if request.user.is_authenticated:
            return True
        return bool(request.META.get("HTTP_AUTHORIZATION")) and token_user(request) is not None


def upload_too_large(request: HttpRequest) -> bool:
    """Oversized uploads are refused by their view from Content-Length alone: do not spool them here."""
    from triage.ingest import body_too_large

    if request.path not in UPLOAD_PATHS:
        return False
    limit = settings.TRIAGE_MAX_BUILD_BYTES if "builds" in request.path else settings.TRIAGE_MAX_LOG_BYTES
    return body_too_large(request, limit) is not None


def nul_in(request: HttpRequest) -> str | None:
    """Where a NUL byte is in the request's parameters, or None."""
    sources = [("query", request.GET)]
    if request.method in ("POST", "PUT", "PATCH") and not upload_too_large(request):
        sources.append(("form", request.POST))
    for where, params in sources:
        for key, values in params.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return f"the {where} parameter {key.replace(chr(0), '?')!r} contains a NUL byte"
    for key, files in (request.FILES.lists() if len(sources) > 1 else []):
        if any("\x00" in (f.name or "") for f in files):
            return f"the file name of {key!r} contains a NUL byte"
    if len(sources) > 1 and request.content_type == "application/json" and b"\\u0000" in request.body.lower():
        return "the JSON body contains a NUL character (\\u0000)"
    return None


class RefuseNulBytes:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reason = nul_in(request)
        if reason:
            message = f"{reason}: NUL is not allowed in parameters"
            if request.path.startswith("/api/"):
                return api_error(message, "invalid", 400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ContentSecurityPolicy:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.TRIAGE_CSP)
        return response


RETRY_AFTER = 30  # seconds: a database or broker restart is usually over by then


def outage_answer(request: HttpRequest) -> HttpResponse | None:
    """503 with Retry-After when the error being handled is a server that cannot be reached (the
    database restarting, Redis down): the client may retry, and nothing was stored (see store_log)."""
    import sys

    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError

    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError | BrokerError | RedisConnectionError):
        return None
    message = "a server the app needs is unreachable (restarting?): nothing was stored, try again later"
    if request.path.startswith("/api/"):
        response = api_error(message, "unavailable", 503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    return response
