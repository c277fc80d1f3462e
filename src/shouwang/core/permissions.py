"""Checks every action starts with: may this actor do this, here?

`actor=None` is the system itself (a management command run by the operator on the server, a
periodic task): it has already proven more than any role could. Fetching one object in scope
is `core.scoping.get_visible`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from shouwang.core.scoping import Actor, Viewer, get_visible, user_covers_area

__all__ = ["Actor", "get_visible", "require", "require_area", "require_visible_choices"]


def require_visible_choices(form: Any, *names: str) -> None:
    """A filter naming an object the form did not offer (an area outside the user's, say) is
    404, as that object's own page would be: silently ignoring it answered "exists, elsewhere"
    with a full unfiltered list. Only a well-formed id counts; rubbish stays a form error."""
    for name in names:
        raw = form.data.get(name, "") if form.is_bound else ""
        if name in form.errors and str(raw).strip().isdigit():
            raise Http404


def require(actor: Viewer, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied(_("Your role may not do this."))


def require_area(actor: Viewer, area_path: str) -> None:
    """Out-of-scope is 'not found', never 'forbidden': its existence must not leak."""
    if actor is not None and not user_covers_area(actor, area_path):
        raise Http404
