"""Builds: upload a vmlinux and modules, read their indexing state."""

from __future__ import annotations

from django.conf import settings
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from triage.builds import store_build
from triage.ingest import RejectedUpload, body_too_large
from triage.models import Build


class BuildSerializer(serializers.ModelSerializer):
    class Meta:
        model = Build
        fields = ["id", "release", "buildid", "arch", "tree", "branch", "commit", "config", "index_status",
                  "index_progress", "index_error", "created"]


class BuildViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """`curl -F vmlinux=@vmlinux.xz -F modules=@lkdtm.ko -F commit=... /api/builds/`"""

    queryset = Build.objects.all()
    serializer_class = BuildSerializer
    parser_classes = [MultiPartParser, FormParser]

    def create(self, request, *args, **kwargs):
        too_large = body_too_large(request, settings.TRIAGE_MAX_BUILD_BYTES)
        if too_large:
            return Response({"error": too_large}, status=status.HTTP_400_BAD_REQUEST)
        metadata = {k: request.data.get(k, "") for k in ("tree", "branch", "commit", "config")}
        try:
            build = store_build(request.FILES.get("vmlinux"), request.FILES.getlist("modules"), metadata)
        except RejectedUpload as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(build).data, status=status.HTTP_201_CREATED)
