"""Clusters: read."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets

from triage.api.errors import ErrorSerializer, api_error
from triage.api.filters import ClusterFilter, row_id
from triage.clusters import live
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
    retrieve=extend_schema(
        summary="One cluster (a merged one's URL redirects to the cluster it joined)",
        responses={200: ClusterSerializer,
                   301: OpenApiResponse(ErrorSerializer, description="merged: `Location` and `see` are the "
                                                                     "survivor's URL")}),
)
class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Cluster.objects.filter(merged_into=None).prefetch_related("links")
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilter

    def retrieve(self, request, *args, **kwargs):
        cluster = Cluster.objects.filter(pk=row_id(kwargs["pk"])).select_related("merged_into").first()
        if cluster is not None and cluster.merged_into_id:
            survivor = live(cluster)
            url = request.build_absolute_uri(reverse("cluster-detail", args=[survivor.pk]))
            return api_error(f"cluster {cluster.pk} was merged into {survivor.pk}", "moved",
                             status.HTTP_301_MOVED_PERMANENTLY, headers={"Location": url}, see=url)
        return super().retrieve(request, *args, **kwargs)
