"""The comparison of two sets of runs as JSON."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from triage.api.errors import api_error
from triage.comparisons import SELECTORS, compare_runs, side_filters

PARAMS = [f"{side}_{name}" for side in ("base", "target") for name in SELECTORS] + list(SELECTORS)


class CompareView(APIView):
    """`GET /api/compare/?base_commit=A&target_commit=B[&robot=1]`: the comparison page's rows as JSON."""

    @extend_schema(
        summary="Compare two sets of runs (fail:runs, %reproduction, p-value per stat key and cluster)",
        parameters=[OpenApiParameter(name, str, description="selects runs of one side (base_/target_) or both")
                    for name in PARAMS]
        + [OpenApiParameter("robot", bool, description="the 0-day robot's %reproduction arithmetic")],
        responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        unknown = sorted(set(request.query_params) - {*PARAMS, "robot", "format"})
        if unknown:
            return api_error(f"unknown query parameter: {', '.join(unknown)}", "unknown_parameter",
                             fields={name: ["unknown query parameter"] for name in unknown})
        base, target = side_filters(request.query_params, "base"), side_filters(request.query_params, "target")
        if not base or not target:
            return api_error("select both sides: base_<field>=... and target_<field>=... with field one "
                             "of tree, branch, commit, config, arch, test, machine")
        robot = request.query_params.get("robot") in ("1", "true", "on", "yes")
        return Response(compare_runs(base, target, robot=robot).to_dict())
