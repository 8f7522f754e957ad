"""Logs: upload (multipart) and read."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from triage.api.errors import api_error
from triage.api.filters import LogFilter
from triage.api.pagination import StrictCursorPagination
from triage.ingest import RejectedUpload, body_too_large, store_log
from triage.models import ApiToken, Log, StatKey


class LogSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    stat_keys = serializers.SerializerMethodField()
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    uploaded_token = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True,
                                                  help_text="the name of the API token that uploaded it")

    class Meta:
        model = Log
        fields = ["id", "url", "filename", "sha256", "size", *Log.METADATA, "status", "error", "created",
                  "processed", "release", "buildid", "crash_count", "stat_keys", "uploaded_by", "uploaded_token",
                  "analyses"]

    def get_url(self, obj: Log) -> str:
        request = self.context.get("request")
        url = obj.get_absolute_url()
        return request.build_absolute_uri(url) if request else url

    def get_stat_keys(self, obj: Log) -> list[str]:
        listed = self.context.get("stat_keys")  # a list page's, read at once
        if listed is not None and obj.pk in listed:
            return listed[obj.pk]
        return list(obj.stat_keys.order_by("id").values_list("key", flat=True))


def stat_keys_of(log_ids: list[int]) -> dict[int, list[str]]:
    """The stat keys of these logs in one query, as (log id, key) pairs: a page of logs with hundreds of
    keys each made tens of thousands of StatKey objects through a prefetch (190 ms for 50 logs)."""
    keys: dict[int, list[str]] = {pk: [] for pk in log_ids}
    for log_id, key in StatKey.objects.filter(log_id__in=log_ids).order_by("id").values_list("log_id", "key"):
        keys[log_id].append(key)
    return keys


class LogUploadSerializer(serializers.Serializer):
    """The multipart form of an upload (documentation; the view streams the file itself)."""

    file = serializers.FileField(help_text="the console log (serial, dmesg, journalctl -k, /dev/kmsg)")
    tree = serializers.CharField(required=False, max_length=200)
    branch = serializers.CharField(required=False, max_length=200)
    commit = serializers.CharField(required=False, max_length=64)
    config = serializers.CharField(required=False, max_length=200)
    arch = serializers.CharField(required=False, max_length=32)
    test = serializers.CharField(required=False, max_length=200)
    machine = serializers.CharField(required=False, max_length=200)
    run_id = serializers.CharField(required=False, max_length=200)
    parent = serializers.CharField(required=False, max_length=64, help_text="the commit this one is based on")


@extend_schema_view(
    list=extend_schema(summary="Logs (runs), newest first",
                       description="Each log is one run; filter by any metadata field, status or upload time. "
                                   "Pages with cursors: follow `next`."),
    retrieve=extend_schema(summary="One log: status, metadata, stat keys"),
    create=extend_schema(
        summary="Upload a console log", request={"multipart/form-data": LogUploadSerializer},
        responses={201: LogSerializer, 200: LogSerializer},
        description="201 with the new log (`url`, `Location`); 200 with the existing one when the same bytes "
                    "and metadata were uploaded before. The analysis runs in the background: poll the log "
                    "until `status` is `done` or `failed`.",
        examples=[OpenApiExample("upload", request_only=True, media_type="multipart/form-data",
                                 value={"file": "dmesg.txt", "tree": "linux-next", "commit": "eaf065b08954",
                                        "arch": "x86_64", "test": "boot", "machine": "qemu-1"})]),
)
class LogViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Log.objects.select_related("uploaded_by", "uploaded_token")
    serializer_class = LogSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_class = LogFilter
    pagination_class = StrictCursorPagination

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self.listed_keys = stat_keys_of([log.pk for log in page])
        return page

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "stat_keys": getattr(self, "listed_keys", None)}

    def create(self, request, *args, **kwargs):
        too_large = body_too_large(request, settings.TRIAGE_MAX_LOG_BYTES)
        if too_large:
            return api_error(too_large, "too_large")
        upload = request.FILES.get("file")
        if upload is None:
            return api_error("no file: send the log as the multipart field 'file'", "required",
                             fields={"file": ["required"]})
        metadata = {k: request.data.get(k, "") for k in Log.METADATA}
        try:
            log, created = store_log(upload.chunks(), upload.name, metadata, request.user)
        except RejectedUpload as exc:
            return api_error(str(exc), "rejected", fields={"file": [str(exc)]})
        if created and isinstance(request.auth, ApiToken):  # which token made it
            Log.objects.filter(pk=log.pk).update(uploaded_token=request.auth)
            log.uploaded_token = request.auth
        data = self.get_serializer(log).data
        data["queued"] = queue_state(log)
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": data["url"]})


def queue_state(log: Log) -> str:
    """What the upload did about the analysis: 'sent' to the broker, 'later' (the broker is down: the
    sweeper sends it when it is back), or 'no' (already running or analysed)."""
    queued = getattr(log, "queued", None)
    if queued is None:
        return "no" if log.status != Log.Status.QUEUED else "later"
    return "later" if queued.sent is False else "sent"
