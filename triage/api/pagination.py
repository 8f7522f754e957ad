"""Strict pagination: a bad or huge `limit` is a 400, a page past the end a 404; cursors for big lists."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def whole_number(request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"not a whole number: {raw[:40]!r}"]}) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError({name: [f"must be {bound}, not {value}"]})
    return value


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=&offset=` (or `?page=` in pages of `limit`), with a total `count`."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT
    page_query_param = "page"
    query_params = ("limit", "offset", "page")

    def get_limit(self, request):
        return whole_number(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        if request.query_params.get(self.page_query_param) not in (None, ""):
            if request.query_params.get(self.offset_query_param) not in (None, ""):
                raise ValidationError({self.page_query_param: ["give either page or offset, not both"]})
            number = whole_number(request, self.page_query_param, 1, 1, 10 ** 9)
            return (number - 1) * self.get_limit(request)
        return whole_number(request, self.offset_query_param, 0, 0, None)

    def paginate_queryset(self, queryset, request, view=None):
        results = super().paginate_queryset(queryset, request, view)
        if self.offset > 0 and self.offset >= self.count:
            raise NotFound(f"past the end: offset {self.offset}, {self.count} items")
        return results

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        params.append({"name": self.page_query_param, "required": False, "in": "query",
                       "description": "page number (pages of `limit` items), instead of offset",
                       "schema": {"type": "integer", "minimum": 1}})
        for p in params:
            if p["name"] == self.limit_query_param:
                p["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit}
            elif p["name"] == self.offset_query_param:
                p["schema"] = {"type": "integer", "minimum": 0}
        return params


class StrictCursorPagination(CursorPagination):
    """Newest first, `?cursor=` from `next`/`previous`: stable under inserts, O(limit) at any depth."""

    ordering = "-id"
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    query_params = ("limit", "cursor")

    def get_page_size(self, request):
        return whole_number(request, self.page_size_query_param, self.page_size, 1, self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["malformed cursor: use the next/previous links "
                                                             "of a list answer"]}) from None

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for p in params:
            if p["name"] == self.page_size_query_param:
                p["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return params
