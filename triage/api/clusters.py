"""Clusters: read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from triage.api.filters import ClusterFilter
from triage.models import Cluster


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "title", "kind", "corrupted", "guilty_function", "merged_into", "crash_count",
                  "first_seen", "last_seen", "status", "fixed_commit", "duplicate_of"]


@extend_schema_view(
    list=extend_schema(summary="Clusters (bugs), most recently seen first",
                       description="Merged clusters are not listed; their crashes are in the survivor's."),
    retrieve=extend_schema(summary="One cluster"),
)
class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None)
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilter
