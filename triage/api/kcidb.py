"""KCIDB: export runs and crashes as a KCIDB submission (read), import a submission (upload)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from triage import kcidb
from triage.api.errors import api_error
from triage.api.filters import LogFilter
from triage.api.pagination import whole_number
from triage.models import ApiToken, Log

EXPORT_DEFAULT, EXPORT_MAX = 500, 5000


class KcidbView(generics.GenericAPIView):
    queryset = Log.objects.all()
    filterset_class = LogFilter
    pagination_class = None
    parser_classes = [JSONParser]
    extra_query_params = ("limit",)

    @extend_schema(
        summary="Runs and crashes as a KCIDB submission (latest schema version of kcidb-io)",
        description="Checkouts (tree, branch, commit), builds (config, arch), one test per log (FAIL when it "
                    "crashed), clusters as issues and crashes as incidents. Takes the logs' filters; the newest "
                    f"`limit` logs (default {EXPORT_DEFAULT}, at most {EXPORT_MAX}).",
        parameters=[OpenApiParameter("limit", int, description=f"at most {EXPORT_MAX} logs")],
        responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        limit = whole_number(request, "limit", EXPORT_DEFAULT, 1, EXPORT_MAX)
        logs = self.filter_queryset(self.get_queryset()).order_by("-id")[:limit]
        return Response(kcidb.export(logs, request.build_absolute_uri))

    @extend_schema(
        summary="Import a KCIDB submission: each test with a log_url becomes a run",
        description="The server fetches every `log_url` (http(s), capped at the upload size limit and in time) "
                    "and stores it with the checkout's and build's metadata; the answer lists each test's "
                    "outcome (created, existing, skipped, error with the reason).",
        request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            result, created = kcidb.import_submission(request.data, request.user)
        except kcidb.KcidbError as exc:
            return api_error(str(exc), "invalid_kcidb")
        if created and isinstance(request.auth, ApiToken):
            Log.objects.filter(pk__in=[log.pk for log in created]).update(uploaded_token=request.auth)
        for item in result.tests:
            if item.log:
                item.url = request.build_absolute_uri(f"/logs/{item.log}/")
        return Response(result.to_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
