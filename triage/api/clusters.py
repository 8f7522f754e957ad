"""Clusters: read; merge, split and rename them (triage scope), with the same history as the pages."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from triage import clusters as filing
from triage.api.errors import ErrorSerializer, api_error
from triage.api.filters import ClusterFilter, row_id
from triage.api.permissions import TriageScope
from triage.clusters import ClusterEditError, live
from triage.models import Cluster, ClusterEvent

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


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, max_value=2 ** 63 - 1, help_text="the surviving cluster's id")


class SplitSerializer(serializers.Serializer):
    titles = serializers.ListField(child=serializers.CharField(max_length=500), allow_empty=False,
                                   help_text="title keys of this cluster that move to the new one")
    title = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                  help_text="the new cluster's title (default: its first crash's)")


class RenameSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)


class EventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ClusterEvent
        fields = ["action", "detail", "user", "created"]


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

    def _edit(self, request, pk, serializer_class, edit, created: bool = False):
        if not Cluster.objects.filter(pk=row_id(pk)).exists():
            return api_error(f"no cluster {pk}", "not_found", status.HTTP_404_NOT_FOUND)
        params = serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            cluster = edit(row_id(pk), params.validated_data)
        except ClusterEditError as exc:
            return api_error(str(exc), "refused")
        cluster = Cluster.objects.get(pk=cluster.pk)
        return Response(ClusterSerializer(cluster, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Merge this cluster into another", request=MergeSerializer,
                   responses={200: ClusterSerializer},
                   description="Its crashes move, its titles become aliases of the survivor (new crashes follow "
                               "them); its URL then redirects to the survivor. Answers with the survivor.")
    @action(detail=True, url_name="api-merge",  # not the page's "cluster-merge"
             methods=["post"], permission_classes=[TriageScope])
    def merge(self, request, pk=None):
        return self._edit(request, pk, MergeSerializer, lambda pk, data: filing.merge(pk, data["into"], request.user))

    @extend_schema(summary="Split some titles off into a new cluster", request=SplitSerializer,
                   responses={201: ClusterSerializer})
    @action(detail=True, url_name="api-split",  # not the page's "cluster-split"
             methods=["post"], permission_classes=[TriageScope])
    def split(self, request, pk=None):
        return self._edit(request, pk, SplitSerializer, lambda pk, data: filing.split(
            pk, data["titles"], data.get("title", ""), request.user), created=True)

    @extend_schema(summary="Rename a cluster (what people read; crashes keep matching)",
                   request=RenameSerializer, responses={200: ClusterSerializer})
    @action(detail=True, url_name="api-rename",  # not the page's "cluster-rename"
             methods=["post"], permission_classes=[TriageScope])
    def rename(self, request, pk=None):
        return self._edit(request, pk, RenameSerializer, lambda pk, data: filing.rename(pk, data["title"], request.user))

    @extend_schema(summary="The cluster's history: merges, splits, renames, status, links, notes",
                   responses={200: EventSerializer(many=True)})
    @action(detail=True, url_name="api-events", methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        cluster = self.get_object()
        return Response(EventSerializer(cluster.events.select_related("user")[:500], many=True).data)

