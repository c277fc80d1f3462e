"""Actions on the area tree, and the counts shown on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from shouwang.core import audit
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


def ancestor_names(areas: list[Area]) -> dict[str, tuple[str, int]]:
    """Map each area path to (name, kind), for the given areas and all their ancestors.

    One query, so a list of households can show "XX小区3号楼2单元" without a query per row.
    """
    known = {a.path: (a.name, a.kind) for a in areas}
    wanted: set[str] = set()
    for area in areas:
        wanted.update(area.ancestor_paths())
    missing = wanted - known.keys()
    if missing:
        for path, name, kind in Area.objects.filter(path__in=missing).values_list(
            "path", "name", "kind"
        ):
            known[path] = (name, kind)
    return known


def address_of(
    area: Area, names: dict[str, tuple[str, int]], from_kind: int = AreaKind.COMPOUND
) -> str:
    """The area's address from `from_kind` down, one name per level: "东风花园 3号楼 2单元"
    (from `ancestor_names`)."""
    parts = []
    for path in [*area.ancestor_paths(), area.path]:
        name, kind = names.get(path, ("", 0))
        if kind >= from_kind and name:
            parts.append(name)
    return " ".join(parts)


def household_address(
    household: Household, names: dict[str, tuple[str, int]], from_kind: int = AreaKind.COMPOUND
) -> str:
    """The one way a home is written, from the compound down to the door, naming the
    building: "东风花园 3号楼 2单元501" (the door follows its unit; a door straight under a
    building stands apart: "东风花园 3号楼 501")."""
    where = address_of(household.area, names, from_kind)
    if household.area.kind == AreaKind.UNIT or not where:
        return where + household.door
    return f"{where} {household.door}"


def household_addresses(
    households: Iterable[Household], from_kind: int = AreaKind.COMPOUND
) -> dict[int, str]:
    """`household_address` for many households (their areas loaded), in one query."""
    homes = list(households)
    names = ancestor_names([h.area for h in homes])
    return {h.pk: household_address(h, names, from_kind) for h in homes}


def label_households(households: Iterable[Household | None]) -> None:
    """Give each household its `address` before a list page draws them: one query for the
    whole page instead of one per row (`Household.address` asks on its own otherwise)."""
    homes = [h for h in households if h is not None]
    addresses = household_addresses(homes)
    for home in homes:
        home.prefill_address(addresses[home.pk])


def visible_roots(user: Any) -> list[Area]:
    """The top areas a user sees: their own areas, or the tree's roots for the whole platform."""
    if getattr(user, "sees_everything", False):
        return list(Area.get_root_nodes())
    return list(user.areas.order_by("path"))
