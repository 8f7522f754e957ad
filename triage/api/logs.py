"""Logs: upload (multipart) and read."""

from __future__ import annotations

from django.conf import settings
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from triage.ingest import RejectedUpload, body_too_large, store_log
from triage.models import Log


class LogSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    stat_keys = serializers.SerializerMethodField()

    class Meta:
        model = Log
        fields = ["id", "url", "filename", "sha256", "size", *Log.METADATA, "status", "error", "created",
                  "processed", "release", "buildid", "crash_count", "stat_keys"]

    def get_url(self, obj: Log) -> str:
        request = self.context.get("request")
        url = obj.get_absolute_url()
        return request.build_absolute_uri(url) if request else url

    def get_stat_keys(self, obj: Log) -> list[str]:
        return [k.key for k in obj.stat_keys.all()]


class LogViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Log.objects.prefetch_related("stat_keys")
    serializer_class = LogSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        qs = super().get_queryset()
        for field in Log.METADATA + ("status",):
            value = self.request.query_params.get(field)
            if value:
                qs = qs.filter(**{field: value})
        return qs

    def create(self, request, *args, **kwargs):
        too_large = body_too_large(request, settings.TRIAGE_MAX_LOG_BYTES)
        if too_large:
            return Response({"error": too_large}, status=status.HTTP_400_BAD_REQUEST)
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"error": "no file: send the log as the multipart field 'file'"},
                            status=status.HTTP_400_BAD_REQUEST)
        metadata = {k: request.data.get(k, "") for k in Log.METADATA}
        try:
            log, created = store_log(upload.chunks(), upload.name, metadata, request.user)
        except RejectedUpload as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        data = self.get_serializer(log).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": data["url"]})
