"""Crashes: read."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from triage.models import Crash


class CrashSerializer(serializers.ModelSerializer):
    class Meta:
        model = Crash
        fields = ["id", "log", "index", "title", "alt_titles", "kind", "corrupted", "guilty_function",
                  "cluster", "start_line", "end_line", "decode_status", "report"]


class CrashViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Crash.objects.all()
    serializer_class = CrashSerializer
