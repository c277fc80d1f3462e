"""The one place where "what may this staff member see" is decided.

Every model a staff member reaches has a `visible_to(user)` queryset method built on
`scope_filter`; views and API handlers never filter by area themselves. Objects out of scope
are simply not in the queryset, so fetching them answers 404 and their existence does not leak.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Q, QuerySet

Q_T = TypeVar("Q_T", bound=QuerySet[Any])

_CACHE_ATTR = "_shouwang_area_paths"


def area_paths(user: Any) -> list[str] | None:
    """Materialised paths of the user's areas; None means the whole platform."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if getattr(user, "sees_everything", False):
        return None
    cached: list[str] | None = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = sorted(user.areas.values_list("path", flat=True))
        # Drop areas already covered by another of the user's areas: shorter SQL, same rows.
        cached = [p for p in cached if not any(p != q and p.startswith(q) for q in cached)]
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_area_paths(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def scope_q(user: Any, path_field: str) -> Q | None:
    """A filter on `path_field` (an area path, possibly across relations); None: no filter."""
    paths = area_paths(user)
    if paths is None:
        return None
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{path_field}__startswith": path})
    return query


def scope_filter(queryset: Q_T, user: Any, path_field: str) -> Q_T:
    query = scope_q(user, path_field)
    return queryset if query is None else queryset.filter(query)


def user_covers_area(user: Any, area_path: str) -> bool:
    paths = area_paths(user)
    return paths is None or any(area_path.startswith(p) for p in paths)
