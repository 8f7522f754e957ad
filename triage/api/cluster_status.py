"""Clusters' triage state over the API: a bot that knows the fix closes the cluster.

POST /api/clusters/<pk>/status/ {"status": "fixed", "fixed_commit": "..."} (or "duplicate_of": <pk>),
POST /api/clusters/<pk>/links/ {"url", "label"}, POST /api/clusters/<pk>/notes/ {"text"}: with a token
of a user who may triage (triage.permissions.can_triage); they answer with the cluster's state.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from triage import cluster_status
from triage.api.errors import api_error
from triage.api.permissions import TriageScope
from triage.clusters import ClusterEditError
from triage.models import Cluster


def state(cluster: Cluster) -> dict:
    cluster.refresh_from_db()
    return {"id": cluster.pk, "status": cluster.status, "fixed_commit": cluster.fixed_commit,
            "duplicate_of": cluster.duplicate_of_id, "status_by": cluster.status_by.username if cluster.status_by else None,
            "status_changed": cluster.status_changed,
            "links": [{"id": link.pk, "url": link.url, "label": link.label} for link in cluster.links.all()]}


class _Edit(APIView):
    permission_classes = [TriageScope]  # a token's triage scope, and the user's triage permission

    def post(self, request, pk: int):
        cluster = Cluster.objects.filter(pk=pk).first()
        if cluster is None:
            return api_error("no such cluster", "not_found", status.HTTP_404_NOT_FOUND)
        try:
            self.edit(request, pk)
        except ClusterEditError as exc:
            return api_error(str(exc))
        return Response(state(cluster))


class StatusRequest(serializers.Serializer):
    status = serializers.ChoiceField(choices=Cluster.Status.choices)
    fixed_commit = serializers.CharField(required=False, allow_blank=True, help_text="with status fixed")
    duplicate_of = serializers.IntegerField(required=False, allow_null=True, help_text="with status duplicate")


class LinkRequest(serializers.Serializer):
    url = serializers.URLField()
    label = serializers.CharField(required=False, allow_blank=True)


class NoteRequest(serializers.Serializer):
    text = serializers.CharField()


def documented(summary: str, request):
    return extend_schema_view(post=extend_schema(summary=summary, request=request,
                                                 responses={200: OpenApiTypes.OBJECT}))


@documented("Set a cluster's triage status (open, fixed by a commit, invalid, duplicate of another)", StatusRequest)
class ClusterStatusView(_Edit):
    def edit(self, request, pk: int) -> None:
        duplicate_of = request.data.get("duplicate_of")
        try:
            duplicate_of = int(duplicate_of) if duplicate_of not in (None, "") else None
        except (TypeError, ValueError):
            raise ClusterEditError("duplicate_of is a cluster id") from None
        cluster_status.set_status(pk, str(request.data.get("status", "")), request.user,
                                  str(request.data.get("fixed_commit") or ""), duplicate_of)


@documented("Add a link (bug report, patch, discussion) to a cluster", LinkRequest)
class ClusterLinksView(_Edit):
    def edit(self, request, pk: int) -> None:
        cluster_status.add_link(pk, str(request.data.get("url", "")), str(request.data.get("label", "")), request.user)


@documented("Add a note to a cluster's history", NoteRequest)
class ClusterNotesView(_Edit):
    def edit(self, request, pk: int) -> None:
        cluster_status.add_note(pk, str(request.data.get("text", "")), request.user)
