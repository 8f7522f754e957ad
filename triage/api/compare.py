"""The comparison of two sets of runs as JSON."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from triage.comparisons import compare_runs, side_filters


class CompareView(APIView):
    """`GET /api/compare/?base_commit=A&target_commit=B[&robot=1]`: the comparison page's rows as JSON."""

    def get(self, request):
        base, target = side_filters(request.query_params, "base"), side_filters(request.query_params, "target")
        if not base or not target:
            return Response({"error": "select both sides: base_<field>=... and target_<field>=... with field one "
                                      "of tree, branch, commit, config, arch, test, machine"},
                            status=status.HTTP_400_BAD_REQUEST)
        robot = request.query_params.get("robot") in ("1", "true", "on", "yes")
        return Response(compare_runs(base, target, robot=robot).to_dict())
