"""Builds: upload a vmlinux and modules, read their indexing state."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from triage.api.errors import api_error
from triage.api.filters import BuildFilter
from triage.api.permissions import TriageScope
from triage.builds import queue_index, reindex_refusal, store_build
from triage.ingest import RejectedUpload, body_too_large
from triage.models import ApiToken, Build


class BuildSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Build
        fields = ["id", "url", "release", "buildid", "arch", "tree", "branch", "commit", "config", "index_status",
                  "index_progress", "index_error", "created"]


    def get_url(self, obj: Build) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(obj.get_absolute_url()) if request else obj.get_absolute_url()


class BuildUploadSerializer(serializers.Serializer):
    """The multipart form of a build upload (documentation; the view streams the files itself)."""

    vmlinux = serializers.FileField(required=False, help_text="with DWARF; may be .xz, .gz or .zst")
    modules = serializers.ListField(child=serializers.FileField(), required=False,
                                    help_text=".ko files or a tarball of a modules folder")
    tree = serializers.CharField(required=False)
    branch = serializers.CharField(required=False)
    commit = serializers.CharField(required=False)
    config = serializers.CharField(required=False)


@extend_schema_view(
    list=extend_schema(summary="Kernel builds, newest first"),
    retrieve=extend_schema(summary="One build and its indexing state"),
    create=extend_schema(summary="Upload a vmlinux and modules",
                         request={"multipart/form-data": BuildUploadSerializer}, responses={201: BuildSerializer}),
)
class BuildViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """`curl -F vmlinux=@vmlinux.xz -F modules=@lkdtm.ko -F commit=... /api/builds/`"""

    queryset = Build.objects.all()
    serializer_class = BuildSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_class = BuildFilter

    def create(self, request, *args, **kwargs):
        too_large = body_too_large(request, settings.TRIAGE_MAX_BUILD_BYTES)
        if too_large:
            return api_error(too_large, "too_large")
        metadata = {k: request.data.get(k, "") for k in ("tree", "branch", "commit", "config")}
        try:
            build = store_build(request.FILES.get("vmlinux"), request.FILES.getlist("modules"), metadata)
        except RejectedUpload as exc:
            return api_error(str(exc), "rejected")
        if isinstance(request.auth, ApiToken):  # which token made it
            Build.objects.filter(pk=build.pk).update(uploaded_token=request.auth)
        return Response(self.get_serializer(build).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], permission_classes=[TriageScope])  # re-indexing costs a worker minutes
    def reindex(self, request, pk=None):
        """`POST /api/builds/ID/reindex/`: index the build again (after a failure or a lost worker)."""
        build = self.get_object()
        refusal = reindex_refusal(build)
        if refusal:
            return api_error(refusal, "conflict", status.HTTP_409_CONFLICT)
        queued = queue_index(build)
        data = self.get_serializer(build).data
        data["queued"] = "later" if queued.sent is False else "sent"
        return Response(data, status=status.HTTP_202_ACCEPTED)

