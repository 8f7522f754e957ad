"""Clusters: read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from triage.api.filters import ClusterFilter
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


@extend_schema_view(
    list=extend_schema(summary="Clusters (bugs), most recently seen first",
                       description="Merged clusters are not listed; their crashes are in the survivor's."),
    retrieve=extend_schema(summary="One cluster"),
)
class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None).prefetch_related("links")
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilter
