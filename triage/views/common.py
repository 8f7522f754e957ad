"""Helpers every page module uses."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE = 50


def page(request: HttpRequest, queryset, size: int | None = None, param: str = "page",
         count: int | None = None) -> Page:
    """A page of the queryset (PAGE rows unless `size`); `count`, when the caller knows it cheaper than
    COUNT(*), is used."""
    paginator = Paginator(queryset, size or PAGE)
    if count is not None:
        paginator.__dict__["count"] = count  # Paginator.count is a cached_property
    return paginator.get_page(request.GET.get(param))
