"""One JSON shape for every API error: {"error": "...", "code": "...", "fields": {...}}.

`error` is one sentence for a person or a bot's log, `code` is stable for programs, `fields` (when
the error is about request fields or query parameters) maps each offending name to its reasons.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ErrorSerializer(serializers.Serializer):
    """What every 4xx (and 5xx) answer of the API carries."""

    error = serializers.CharField(help_text="what went wrong, in one sentence")
    code = serializers.CharField(help_text="stable identifier: invalid, not_found, gone, not_authenticated, "
                                           "permission_denied, throttled, ...")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="offending field or query parameter -> reasons")
    see = serializers.URLField(required=False, help_text="where to look instead: the log of a vanished crash, "
                                                         "the cluster a merged one joined")


class Gone(APIException):
    """The object existed and no longer does (a crash a re-analysis did not find again)."""

    status_code = status.HTTP_410_GONE
    default_detail = "gone"
    default_code = "gone"

    def __init__(self, detail: str, see: str):
        super().__init__(detail)
        self.see = see


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def _code(codes) -> str:
    while isinstance(codes, dict | list | tuple) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes) if isinstance(codes, str) else "error"


def error_body(message: str, code: str, fields: dict | None = None, see: str = "") -> dict:
    body = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    if see:
        body["see"] = see
    return body


def api_error(message: str, code: str = "invalid", status_code: int = status.HTTP_400_BAD_REQUEST,
              fields: dict | None = None, headers: dict | None = None, see: str = "") -> Response:
    return Response(error_body(message, code, fields, see), status=status_code, headers=headers)


def api_exception_handler(exc, context):
    """DRF's handler, then its `detail` reshaped into the one error shape."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    codes = exc.get_codes() if hasattr(exc, "get_codes") else getattr(exc, "default_code", "error")
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = error_body(str(data["detail"]), _code(codes))
    elif isinstance(data, dict):
        fields = {str(k): _messages(v) for k, v in data.items()}
        first = "; ".join(f"{k}: {v[0]}" for k, v in fields.items())
        response.data = error_body(first, _code(codes), fields)
    else:
        response.data = error_body("; ".join(_messages(data)), _code(codes))
    if getattr(exc, "see", ""):
        response.data["see"] = exc.see
    return response


def not_found(request: HttpRequest, exception=None):
    """404 for URLs no view matched: JSON under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(f"no such API endpoint: {request.path}", "not_found"), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    from triage.middleware import outage_answer

    answer = outage_answer(request)  # the database or broker is restarting: 503, come back later
    if answer is not None:
        return answer
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("internal server error (logged)", "server_error"), status=500)
    return defaults.server_error(request)
