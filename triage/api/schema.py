"""The OpenAPI schema (drf-spectacular): every operation documents the one error shape."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from triage.api.errors import ErrorSerializer

ERRORS = {
    400: "a malformed or unknown parameter or field (named in `fields`)",
    401: "no credentials, or a token that does not exist or was revoked",
    403: "the token's scopes or the user's rights do not allow this",
    404: "no such object, or a page past the end",
    429: "too many requests for this token: wait `Retry-After` seconds",
}


class TriageAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        errors.update(getattr(self.view, "schema_errors", {}))
        for code, description in errors.items():
            if str(code) not in responses:
                body = self._get_response_for_code(ErrorSerializer, str(code))
                body["description"] = description
                responses[str(code)] = body
        return responses
