"""Clusters: read."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from triage.models import Cluster


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "title", "kind", "corrupted", "guilty_function", "merged_into", "crash_count",
                  "first_seen", "last_seen"]


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None)
    serializer_class = ClusterSerializer
