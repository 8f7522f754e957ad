from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def query_with(request, **changes) -> str:
    """The current query string with some parameters replaced (pager links keep the filters)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@register.filter
def get(mapping, key):
    """`{{ sparks|get:c.pk }}`, `{{ values|get:i }}`: a lookup by a variable key or index."""
    if not mapping:
        return None
    if isinstance(mapping, dict):
        return mapping.get(key)
    try:
        return mapping[key]
    except (IndexError, TypeError):
        return None
