"""Sortable column headers that keep the page's filters in the URL."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, name: str, label: str, css: str = "") -> str:
    """<th> with a link sorting by `name` (again: the other way); aria-sort says the current order."""
    request, listing = context["request"], context["listing"]
    current = listing.sort
    ascending = current == name
    descending = current == f"-{name}"
    query = request.GET.copy()
    query["sort"] = f"-{name}" if ascending else name
    query.pop("page", None)
    aria = "ascending" if ascending else "descending" if descending else "none"
    arrow = " ▲" if ascending else " ▼" if descending else ""
    return format_html('<th class="{}" aria-sort="{}"><a href="?{}">{}{}</a></th>', css, aria, query.urlencode(),
                       label, arrow)
