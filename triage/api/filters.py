"""Filters of every API list (django-filter), and the rule that unknown query parameters are a 400.

A bot that misspells a filter (`?comit=`) must not get every row back as if it had matched.
"""

from __future__ import annotations

from datetime import UTC

import django_filters as filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from triage.cluster_facets import clusters_in_section
from triage.models import Build, Cluster, Crash, Log
from triage.run_crashes import crashes_of_runs
from triage.search import crashes_with_words, word_contains
from triage.subsystems import in_section

FORMAT_PARAMS = ("format",)  # DRF's renderer override (?format=json)


def row_id(value) -> int:
    """A URL's id as a number the database takes (0, which matches nothing, when it is not one)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2 ** 63 else 0


class IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2 ** 63 - 1)
        super().__init__(*args, **kwargs)


class IdFilter(filters.NumberFilter):
    """A row id: a whole number in the database's range (not the Decimal a NumberFilter takes)."""

    field_class = IdField


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601, as UTC: PostgreSQL refuses offsets past ±15:59 that Python accepts (a 500 before)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed
        except OverflowError:
            raise forms.ValidationError("out of range", code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class BoolField(forms.Field):
    TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")

    def to_python(self, value):
        if value in (None, ""):
            return None
        if str(value).lower() in self.TRUE:
            return True
        if str(value).lower() in self.FALSE:
            return False
        raise forms.ValidationError("not a boolean: use true or false", code="invalid")


class BoolFilter(filters.BooleanFilter):
    """true/false (1/0, yes/no); anything else is a 400, not "no filter"."""

    field_class = BoolField


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, plus: a list answers 400 naming any query parameter it does not know."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", "list") == "list":
            allowed = set(self.allowed_params(request, queryset, view))
            unknown = sorted(set(request.query_params) - allowed)
            if unknown:
                known = ", ".join(sorted(allowed))
                raise ValidationError({name: [f"unknown query parameter (this list takes: {known})"]
                                       for name in unknown}, code="unknown_parameter")
        return super().filter_queryset(request, queryset, view)

    def allowed_params(self, request, queryset, view) -> list[str]:
        names = list(FORMAT_PARAMS)
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names += [name for name in filterset_class.base_filters]
        paginator = getattr(view, "paginator", None)
        names += list(getattr(paginator, "query_params", ()))
        names += list(getattr(view, "extra_query_params", ()))
        return names


class LogFilter(filters.FilterSet):
    tree = filters.CharFilter()
    branch = filters.CharFilter()
    commit = filters.CharFilter(help_text="the full commit id as uploaded")
    config = filters.CharFilter()
    arch = filters.CharFilter()
    test = filters.CharFilter()
    machine = filters.CharFilter()
    run_id = filters.CharFilter()
    parent = filters.CharFilter(help_text="the commit the run's commit is based on")
    status = filters.ChoiceFilter(choices=Log.Status.choices)
    sha256 = filters.CharFilter(help_text="sha256 of the uploaded bytes")
    release = filters.CharFilter(help_text="`uname -r` found in the log")
    build = IdFilter(field_name="build_id")
    has_crashes = BoolFilter(method="filter_has_crashes", help_text="true: logs with a crash")
    created_after = UtcDateTimeFilter(field_name="created", lookup_expr="gte",
                                              help_text="uploaded at or after (ISO 8601)")
    created_before = UtcDateTimeFilter(field_name="created", lookup_expr="lt",
                                               help_text="uploaded before (ISO 8601)")

    class Meta:
        model = Log
        fields: list[str] = []

    def filter_has_crashes(self, queryset, name, value):
        return queryset.filter(crash_count__gt=0) if value else queryset.filter(crash_count=0)


class CrashFilter(filters.FilterSet):
    log = IdFilter(field_name="log_id")
    cluster = IdFilter(method="filter_cluster", help_text="a merged cluster's id finds the survivor's crashes")
    kind = filters.CharFilter(help_text="report kind: BUG, WARNING, KASAN, ...")
    title = filters.CharFilter(method="filter_title", help_text="substring of the title, any case")
    guilty_function = filters.CharFilter()
    corrupted = BoolFilter()
    decode_status = filters.ChoiceFilter(choices=Crash.Decode.choices)
    commit = filters.CharFilter(method="filter_commit", help_text="commit of the crash's log")
    subsystem = filters.CharFilter(method="filter_subsystem", help_text="a MAINTAINERS section of the guilty "
                                   "frame's file: the most specific one or any broader one it also matches")

    class Meta:
        model = Crash
        fields: list[str] = []

    def filter_commit(self, queryset, name, value):
        return crashes_of_runs(queryset, Q(commit=value))

    def filter_title(self, queryset, name, value):
        return crashes_with_words(queryset).filter(word_contains("title", value))  # the search box's index

    def filter_cluster(self, queryset, name, value):
        from triage.clusters import live

        cluster = Cluster.objects.filter(pk=value).first()
        return queryset.filter(cluster_id=live(cluster).pk if cluster else value)

    def filter_subsystem(self, queryset, name, value):
        return queryset.filter(in_section(value))


class ClusterFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Cluster.Status.choices)
    title = filters.CharFilter(lookup_expr="icontains", help_text="substring of the title, any case")
    kind = filters.CharFilter()
    guilty_function = filters.CharFilter()
    corrupted = BoolFilter()
    subsystem = filters.CharFilter(method="filter_subsystem", help_text="clusters with crashes in this "
                                                                      "MAINTAINERS section")
    seen_after = UtcDateTimeFilter(field_name="last_seen", lookup_expr="gte",
                                           help_text="last seen at or after (ISO 8601)")

    class Meta:
        model = Cluster
        fields: list[str] = []


    def filter_subsystem(self, queryset, name, value):
        return queryset.filter(pk__in=clusters_in_section(value))


class BuildFilter(filters.FilterSet):
    buildid = filters.CharFilter(help_text="GNU build-id of the vmlinux, hex")
    release = filters.CharFilter(help_text="`uname -r`")
    commit = filters.CharFilter()
    arch = filters.CharFilter()
    index_status = filters.ChoiceFilter(choices=Build.Index.choices)

    class Meta:
        model = Build
        fields: list[str] = []
