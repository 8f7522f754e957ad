"""REST API for CI bots (token auth, as patchwork does): upload logs, read crashes and clusters."""

from __future__ import annotations

from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from triage.builds import store_build
from triage.ingest import RejectedUpload, store_log
from triage.models import Build, Cluster, Crash, Log


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


class CrashSerializer(serializers.ModelSerializer):
    class Meta:
        model = Crash
        fields = ["id", "log", "index", "title", "alt_titles", "kind", "corrupted", "guilty_function",
                  "cluster", "start_line", "end_line", "decode_status", "report"]


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "title", "kind", "corrupted", "guilty_function", "merged_into", "crash_count",
                  "first_seen", "last_seen"]


class BuildSerializer(serializers.ModelSerializer):
    class Meta:
        model = Build
        fields = ["id", "release", "buildid", "arch", "tree", "branch", "commit", "config", "index_status",
                  "index_progress", "index_error", "created"]


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


class CrashViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Crash.objects.all()
    serializer_class = CrashSerializer


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None)
    serializer_class = ClusterSerializer


class BuildViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """`curl -F vmlinux=@vmlinux.xz -F modules=@lkdtm.ko -F commit=... /api/builds/`"""

    queryset = Build.objects.all()
    serializer_class = BuildSerializer
    parser_classes = [MultiPartParser, FormParser]

    def create(self, request, *args, **kwargs):
        metadata = {k: request.data.get(k, "") for k in ("tree", "branch", "commit", "config")}
        try:
            build = store_build(request.FILES.get("vmlinux"), request.FILES.getlist("modules"), metadata)
        except RejectedUpload as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(build).data, status=status.HTTP_201_CREATED)
