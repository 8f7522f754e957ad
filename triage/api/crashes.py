"""Crashes: read."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from triage.api.errors import ErrorSerializer, Gone
from triage.api.filters import CrashFilter, row_id
from triage.api.pagination import StrictCursorPagination
from triage.models import Crash, VanishedCrash
from triage.subsystems import split


class CrashSerializer(serializers.ModelSerializer):
    subsystems = serializers.SerializerMethodField(
        help_text="every MAINTAINERS section of the guilty file but THE REST, most specific first "
                  "(`subsystem` is the first)")

    class Meta:
        model = Crash
        fields = ["id", "log", "index", "title", "alt_titles", "kind", "corrupted", "guilty_function",
                  "cluster", "start_line", "end_line", "decode_status", "subsystem", "subsystems", "report"]

    def get_subsystems(self, crash: Crash) -> list[str]:
        return split(crash.subsystems)


@extend_schema_view(
    list=extend_schema(summary="Crash reports, newest first",
                       description="Filter by log, cluster, kind, title substring, guilty function. "
                                   "Pages with cursors: follow `next`."),
    retrieve=extend_schema(
        summary="One crash report (its id survives re-analysis of its log)",
        responses={200: CrashSerializer,
                   410: OpenApiResponse(ErrorSerializer, description="a re-analysis of its log no longer finds "
                                                                     "this report; `see` is the log")}),
)
class CrashViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Crash.objects.all()
    serializer_class = CrashSerializer
    filterset_class = CrashFilter
    pagination_class = StrictCursorPagination

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            gone = VanishedCrash.objects.select_related("log").filter(pk=row_id(self.kwargs["pk"])).first()
            if gone is None:
                raise
            url = self.request.build_absolute_uri(gone.log.get_absolute_url())
            raise Gone(f"crash {gone.crash_id} (“{gone.title}”) is gone: its log {gone.log_id} was analysed again "
                       f"and no report starts at line {gone.start_line + 1} any more; the log is at {url}",
                       see=url) from None
