"""The one place where "what may this staff member see" is decided.

Every model a staff member reaches uses `ScopedQuerySet` (as its manager) and names, in the
class attribute `scope_path`, the lookup from the model to an area's materialised path
("area__path", "household__area__path"…). `Model.objects.visible_to(actor)` is then the only
area filter there is; views and API handlers never filter by area themselves. Objects out of
scope are simply not in the queryset, so `get_visible` answers 404 and their existence does
not leak. Modelled on NetBox's `RestrictedQuerySet`, reduced to what the roles here need (the
role decides *what* a user may do, in `core.roles`; the areas decide *where*).

`tests/core/test_scoped_models.py` walks every model and fails when one a staff screen or the
API reaches is not scoped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeAlias, TypeVar

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from shouwang.core.models.staff import User

# Who does something: a staff member, or None for the system itself (a management command
# run by the operator on the server, a periodic task), which has already proven more than any
# role could.
Actor: TypeAlias = "User | None"
# Who looks: an actor, or a request's user before login (who sees nothing).
Viewer: TypeAlias = "User | AnonymousUser | None"

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_shouwang_area_paths"


def area_paths(user: Viewer) -> list[str] | None:
    """Materialised paths of the user's areas; None means the whole platform."""
    if user is None:
        return None
    if not user.is_authenticated or not user.is_active:
        return []
    if user.sees_everything:
        return None
    cached: list[str] | None = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = sorted(user.areas.values_list("path", flat=True))
        # Drop areas already covered by another of the user's areas: shorter SQL, same rows.
        cached = [p for p in cached if not any(p != q and p.startswith(q) for q in cached)]
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_area_paths(user: Viewer) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def scope_path(model: type[Model]) -> str:
    """The model's lookup to an area path; a model without one cannot be scoped."""
    path = getattr(model, "scope_path", None)
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(f"{model.__name__} has no scope_path: it cannot be scoped")
    return path


def scope_q(user: Viewer, path_field: str) -> Q | None:
    """A filter on `path_field` (an area path, possibly across relations); None: no filter."""
    paths = area_paths(user)
    if paths is None:
        return None
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{path_field}__startswith": path})
    return query


class ScopedQuerySet(QuerySet[M]):
    """A queryset that knows the way from its rows to an area (the model's `scope_path`)."""

    def visible_to(self, user: Viewer) -> Self:
        """The rows inside the user's areas; all of them for the system (None) and for
        platform-wide roles, none for an anonymous or inactive user. A model may narrow
        further with a static `scope_restrict(user) -> Q | None` (alerts: the property
        office sees door alerts only)."""
        query = scope_q(user, scope_path(self.model))
        scoped = self if query is None else self.filter(query)
        restrict = getattr(self.model, "scope_restrict", None)
        extra = restrict(user) if restrict is not None and user is not None else None
        return scoped if extra is None else scoped.filter(extra)


def get_visible(actor: Viewer, source: type[M] | QuerySet[M], pk: Any) -> M:
    """One object the actor may see, by primary key; 404 when it is missing or out of scope.

    `source` is the model, or a queryset of it when the page needs related rows loaded.
    """
    queryset = source._default_manager.all() if isinstance(source, type) else source
    if not isinstance(queryset, ScopedQuerySet):
        raise ImproperlyConfigured(f"{queryset.model.__name__} is not scoped (ScopedQuerySet)")
    try:
        obj: M = queryset.visible_to(actor).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    return obj


def user_covers_area(user: Viewer, area_path: str) -> bool:
    paths = area_paths(user)
    return paths is None or any(area_path.startswith(p) for p in paths)
