"""Actions on the area tree, and the counts shown on it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.addresses import address_of as address_of
from shouwang.core.addresses import ancestor_names as ancestor_names
from shouwang.core.addresses import household_address as household_address
from shouwang.core.addresses import household_addresses as household_addresses
from shouwang.core.addresses import label_households as label_households
from shouwang.core.models import Area, AreaKind, Household, Person
from shouwang.core.permissions import require, require_area


def _check_child_kind(parent: Area | None, kind: int) -> None:
    if kind not in AreaKind.values:
        raise ValidationError(_("Unknown area kind."), code="area_kind")
    if parent is not None and kind <= parent.kind:
        raise ValidationError(
            _("An area of kind “%(child)s” cannot be placed under one of kind “%(parent)s”.")
            % {"child": AreaKind(kind).label, "parent": AreaKind(parent.kind).label},
            code="area_kind_order",
        )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(_("Area name must be 1 to 100 characters."), code="area_name")
    return name


def add_area_node(parent: Area | None, name: str, kind: int, code: str = "") -> Area:
    """Insert a node into the tree. No checks: callers are actions that have made them."""
    fields = {"name": name, "kind": kind, "code": code}
    if parent is None:
        root: Area = Area.objects.add_root(fields)
        return root
    parent.refresh_from_db()  # treebeard picks the new path from the parent's current numchild
    child: Area = Area.objects.add_child(parent, fields)
    return child


def create_area(actor: Any, parent: Area | None, name: str, kind: int, code: str = "") -> Area:
    require(actor, "core.add_area")
    name = _clean_name(name)
    _check_child_kind(parent, kind)
    with transaction.atomic():
        if parent is not None:
            require_area(actor, parent.path)
        area = add_area_node(parent, name, kind, code)
        audit.record(
            "area.create", actor=actor, target=area, area=area, details={"name": name, "kind": kind}
        )
    return area


def rename_area(actor: Any, area: Area, name: str) -> Area:
    require(actor, "core.change_area")
    require_area(actor, area.path)
    name = _clean_name(name)
    with transaction.atomic():
        old = area.name
        area.name = name
        area.save(update_fields=["name"])
        audit.record(
            "area.rename", actor=actor, target=area, area=area, details={"from": old, "to": name}
        )
    return area


def move_area(actor: Any, area: Area, new_parent: Area) -> Area:
    """Move a subtree under another parent; everything below follows in one SQL update."""
    require(actor, "core.change_area")
    require_area(actor, area.path)
    require_area(actor, new_parent.path)
    if new_parent.path.startswith(area.path):
        raise ValidationError(_("An area cannot be moved under itself."), code="area_cycle")
    _check_child_kind(new_parent, area.kind)
    with transaction.atomic():
        old_parent = Area.objects.get_parent(area)
        Area.objects.move(area, new_parent, "last-child")
        area.refresh_from_db()
        audit.record(
            "area.move",
            actor=actor,
            target=area,
            area=area,
            details={"from": old_parent.name if old_parent else None, "to": new_parent.name},
        )
    return area


def subtree_counts(areas: list[Area], user: Any) -> dict[int, dict[str, int]]:
    """Households and residents at or below each given area, in two grouped queries."""
    households = Counter[str]()
    residents = Counter[str]()
    for path, n in (
        Household.objects.visible_to(user).values_list("area__path").annotate(n=Count("id"))
    ):
        households[path] += n
    for path, n in (
        Person.objects.visible_to(user).values_list("household__area__path").annotate(n=Count("id"))
    ):
        residents[path] += n
    result: dict[int, dict[str, int]] = {}
    for area in areas:
        result[area.pk] = {
            "households": sum(n for p, n in households.items() if p.startswith(area.path)),
            "residents": sum(n for p, n in residents.items() if p.startswith(area.path)),
        }
    return result


def visible_roots(user: Any) -> list[Area]:
    """The top areas a user sees: their own areas, or the tree's roots for the whole platform."""
    if getattr(user, "sees_everything", False):
        return list(Area.get_root_nodes())
    return list(user.areas.order_by("path"))
