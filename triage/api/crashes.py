"""Crashes: read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from triage.api.filters import CrashFilter
from triage.api.pagination import StrictCursorPagination
from triage.models import Crash


class CrashSerializer(serializers.ModelSerializer):
    class Meta:
        model = Crash
        fields = ["id", "log", "index", "title", "alt_titles", "kind", "corrupted", "guilty_function",
                  "cluster", "start_line", "end_line", "decode_status", "report"]


@extend_schema_view(
    list=extend_schema(summary="Crash reports, newest first",
                       description="Filter by log, cluster, kind, title substring, guilty function. "
                                   "Pages with cursors: follow `next`."),
    retrieve=extend_schema(summary="One crash report (its id survives re-analysis of its log)"),
)
class CrashViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Crash.objects.all()
    serializer_class = CrashSerializer
    filterset_class = CrashFilter
    pagination_class = StrictCursorPagination
