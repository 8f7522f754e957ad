"""The search page: `/search/?q=...`, results grouped by kind (crashes link to /crashes/<id>/)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from triage.search import search


def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    groups = search(query)
    return render(request, "search.html", {"q": query, "search_q": query, "groups": groups,
                                           "total": sum(g.count for g in groups)})
