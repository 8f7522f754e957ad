"""KCIDB: export runs and crashes as a KCIDB submission (read), import a submission (upload)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from triage import kcidb
from triage.api.errors import api_error
from triage.api.filters import LogFilter
from triage.api.pagination import whole_number
from triage.api.permissions import READ, UPLOAD, ScopedPermission
from triage.kcidb_imports import as_dict, start_import
from triage.models import ApiToken, KcidbImport, Log

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
        description="The submission is validated at once (400 saying why when it is not KCIDB); a worker then "
                    "fetches every `log_url` (http(s), public addresses, capped at the upload size limit and in "
                    "time) and stores it with the checkout's and build's metadata. The answer (202) is the "
                    "import: poll its `url` until `status` is done (or failed) for each test's outcome "
                    "(created, existing, skipped, error with the reason).",
        request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            job, _queued = start_import(request.data, request.user,
                                        request.auth if isinstance(request.auth, ApiToken) else None)
        except kcidb.KcidbError as exc:
            return api_error(str(exc), "invalid_kcidb")
        return Response(as_dict(job, request.build_absolute_uri), status=status.HTTP_202_ACCEPTED)


class SubmitterMayPoll(ScopedPermission):
    """Who may read may read an import; so may the upload token that submitted it (a bot polls its own)."""

    def has_permission(self, request, view) -> bool:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and request.method == "GET" and UPLOAD in token.scopes and READ not in token.scopes:
            view.own_only = token
            return True
        return super().has_permission(request, view)


class KcidbImportView(generics.RetrieveAPIView):
    """One KCIDB import: its status and each test's outcome so far."""

    queryset = KcidbImport.objects.all()
    pagination_class = None
    permission_classes = [SubmitterMayPoll]
    own_only: ApiToken | None = None

    @extend_schema(summary="A KCIDB import's progress", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        imports = KcidbImport.objects.all()
        if self.own_only is not None:
            imports = imports.filter(uploaded_token=self.own_only)
        return Response(as_dict(get_object_or_404(imports, pk=pk), request.build_absolute_uri))
