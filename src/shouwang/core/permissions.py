"""Checks every action starts with: may this actor do this, here?

`actor=None` is the system itself (a management command run by the operator on the server, a
periodic task): it has already proven more than any role could.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from shouwang.core.scoping import user_covers_area

M = TypeVar("M", bound=Model)


def require(actor: Any, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied(_("Your role may not do this."))


def require_area(actor: Any, area_path: str) -> None:
    """Out-of-scope is 'not found', never 'forbidden': its existence must not leak."""
    if actor is not None and not user_covers_area(actor, area_path):
        raise Http404


def get_visible(queryset: QuerySet[M], actor: Any, pk: Any) -> M:
    scoped = queryset if actor is None else queryset.visible_to(actor)  # type: ignore[attr-defined]
    try:
        obj: M = scoped.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    return obj
