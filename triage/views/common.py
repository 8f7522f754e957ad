"""Helpers every page module uses."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE = 50


def page(request: HttpRequest, queryset, size: int = PAGE, param: str = "page") -> Page:
    return Paginator(queryset, size).get_page(request.GET.get(param))
