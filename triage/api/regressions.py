"""Regressions: read. `url` is the regression's page; with `?format=text` it is the report text."""

from __future__ import annotations

import django_filters as filters
from rest_framework import serializers, viewsets

from triage.models import Log, Regression
from triage.regressions import in_subsystem


class RegressionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    tree = serializers.CharField(source="job.tree")
    branch = serializers.CharField(source="job.branch")
    config = serializers.CharField(source="job.config")
    arch = serializers.CharField(source="job.arch")
    test = serializers.CharField(source="job.test")

    class Meta:
        model = Regression
        fields = ["id", "url", "title", "state", "kind", "first_bad_commit", "last_good_commit",
                  "latest_bad_commit", "bad_commits", *Log.JOB, "cluster", "keys", "fail_good", "runs_good",
                  "fail_bad", "runs_bad", "p_value", "created", "updated"]

    def get_url(self, obj: Regression) -> str:
        request = self.context.get("request")
        url = obj.get_absolute_url()
        return request.build_absolute_uri(url) if request else url


class RegressionFilter(filters.FilterSet):
    """The list page's filters: the job's fields and the state."""

    tree = filters.CharFilter(field_name="job__tree")
    branch = filters.CharFilter(field_name="job__branch")
    config = filters.CharFilter(field_name="job__config")
    arch = filters.CharFilter(field_name="job__arch")
    test = filters.CharFilter(field_name="job__test")
    state = filters.ChoiceFilter(choices=Regression.State.choices)
    subsystem = filters.CharFilter(method="filter_subsystem",
                                   help_text="regressions whose cluster has crashes in this MAINTAINERS section")

    class Meta:
        model = Regression
        fields = ["tree", "branch", "config", "arch", "test", "state", "subsystem"]

    def filter_subsystem(self, queryset, name, value):
        return in_subsystem(queryset, value)


class RegressionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Regression.objects.select_related("job")
    serializer_class = RegressionSerializer
    filterset_class = RegressionFilter
