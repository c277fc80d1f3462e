"""The area tree: moving and renaming keep everything below consistent; subtree in one query."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person
from shouwang.core.services.areas import create_area, move_area, rename_area
from tests.conftest import Town, login


def test_everything_under_an_area_is_one_query(town: Town) -> None:
    with CaptureQueriesContext(connection) as queries:
        people = list(Person.objects.filter(household__area__path__startswith=town.east.path))
    assert people == [town.east_person]
    assert len(queries) == 1
    assert "LIKE" in queries[0]["sql"].upper()


def test_moving_a_compound_moves_its_households_and_who_sees_them(town: Town) -> None:
    move_area(town.admin, town.east_compound, town.west)
    town.east_unit.refresh_from_db()
    assert town.east_unit.path.startswith(town.west.path)
    assert Area.objects.get_parent(Area.objects.get(pk=town.east_compound.pk)) == town.west
    # Scoping follows the tree: the west worker now sees the household, the east worker not.
    assert login(town.west_worker).get(f"/households/{town.east_home.pk}/").status_code == 200
    assert login(town.east_worker).get(f"/households/{town.east_home.pk}/").status_code == 404
    assert AuditLog.objects.filter(action="area.move").count() == 1
    assert Area.objects.find_problems() == ([], [], [], [], [])


def test_renaming_changes_addresses_below_it(town: Town) -> None:
    rename_area(town.admin, Area.objects.get(name="3号楼"), "三号楼")
    page = login(town.east_worker).get("/households/").content.decode()
    assert "东风花园 三号楼 2单元" in page


def test_area_cannot_move_under_itself_or_above_its_level(town: Town) -> None:
    with pytest.raises(ValidationError):
        move_area(town.admin, town.east, town.east_compound)
    with pytest.raises(ValidationError):
        move_area(town.admin, town.east_compound, town.east_unit)
    with pytest.raises(ValidationError):
        create_area(town.admin, town.east_unit, "X", AreaKind.BUILDING)


def test_worker_cannot_move_areas(town: Town) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        move_area(town.east_worker, town.east_compound, town.west)
    with pytest.raises(Http404):
        rename_area(town.town_operator, town.district, "X")  # above the operator's street
    assert Household.objects.count() == 2


def test_tree_page_counts_households_and_residents(town: Town) -> None:
    page = login(town.town_operator).get("/areas/").content.decode()
    assert page.count("东风社区") == 1
    api = {a["name"]: a for a in login(town.town_operator).get("/api/v1/areas").json()}
    assert (api["守望街道"]["households"], api["守望街道"]["residents"]) == (2, 2)
    assert (api["东风社区"]["households"], api["东风社区"]["residents"]) == (1, 1)
    assert api["东风花园"]["parent_id"] == town.east.pk
