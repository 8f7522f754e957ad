from __future__ import annotations

from django import template

from workers.compare import format_p

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


@register.filter
def p_value(p) -> str:
    """`{{ r.p_value|p_value }}`: as the compare page prints p (0.00036 is 0.00036, not 0.000)."""
    return "" if p is None else format_p(float(p))
