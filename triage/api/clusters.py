"""Clusters: read."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from triage.models import Cluster

# triage state (issue 9); written through /api/clusters/<pk>/status/, links/, notes/
TRIAGE_FIELDS = ["status", "fixed_commit", "duplicate_of", "status_changed", "links"]


class ClusterLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    label = serializers.CharField()


class ClusterSerializer(serializers.ModelSerializer):
    links = ClusterLinkSerializer(many=True, read_only=True)
    class Meta:
        model = Cluster
        fields = ["id", "title", "kind", "corrupted", "guilty_function", "merged_into", "crash_count",
                  "first_seen", "last_seen", *TRIAGE_FIELDS]


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None).prefetch_related("links")
    serializer_class = ClusterSerializer
