"""How a place is written: an area's names down from the compound, a home's address.

Pure functions over loaded areas (one query for all the names a page needs); the
`Household.address` property uses them, so they sit below the services and import only the
area model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from shouwang.core.models.areas import Area, AreaKind


class Household(Protocol):
    """What an address needs of a home (`core.models.Household`), without importing it:
    the model's `address` property calls this module."""

    @property
    def pk(self) -> Any: ...

    @property
    def area(self) -> Area: ...

    @property
    def door(self) -> str: ...

    def prefill_address(self, address: str) -> None: ...


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
