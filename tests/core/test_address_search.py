"""Household search reads a typed address the way the pages print it: compound, building,
unit and door, whole or in part, with or without spaces, only inside the worker's areas."""

from __future__ import annotations

from typing import Any

import pytest

from shouwang.core.models import Area, AreaKind, Household, Person
from shouwang.core.services.address_search import address_filter
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import PersonData, create_household, create_person
from tests.conftest import Town, login


@pytest.fixture
def homes(town: Town) -> dict[str, Household]:
    """Next to 东风花园 3号楼 2单元501: a 12号楼 (whose name contains "2号楼"), another 501 in a
    second unit, and another compound of the same community."""
    garden = town.east_compound
    b12 = create_area(None, garden, "12号楼", AreaKind.BUILDING)
    b12u1 = create_area(None, b12, "1单元", AreaKind.UNIT)
    b3 = Area.objects.get(name="3号楼")
    b3u1 = create_area(None, b3, "1单元", AreaKind.UNIT)
    other = create_area(None, town.east, "东方小区", AreaKind.COMPOUND)
    other_b2 = create_area(None, other, "2号楼", AreaKind.BUILDING)
    return {
        "3-2-501": town.east_home,
        "3-1-501": create_household(None, b3u1, "501"),
        "12-1-501": create_household(None, b12u1, "501"),
        "12-1-302": create_household(None, b12u1, "302"),
        "fang-2-101": create_household(None, other_b2, "101"),
        "west": town.west_home,
    }


def found(user: Any, text: str) -> set[int]:
    return set(
        Household.objects.visible_to(user)
        .filter(address_filter(user, text))
        .values_list("pk", flat=True)
    )


def ids(homes: dict[str, Household], *keys: str) -> set[int]:
    return {homes[k].pk for k in keys}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("501", ["3-2-501", "3-1-501", "12-1-501"]),
        ("东风花园", ["3-2-501", "3-1-501", "12-1-501", "12-1-302"]),
        ("东风", ["3-2-501", "3-1-501", "12-1-501", "12-1-302"]),  # a compound typed half
        ("3号楼", ["3-2-501", "3-1-501"]),
        ("12号楼", ["12-1-501", "12-1-302"]),
        ("2号楼", ["fang-2-101"]),  # not 12号楼
        ("东风花园 3号楼 2单元501", ["3-2-501"]),  # as the pages print it
        ("东风花园3号楼2单元501", ["3-2-501"]),  # without spaces
        ("3号楼 501", ["3-2-501", "3-1-501"]),
        ("东方小区 · 101", ["fang-2-101"]),
        ("东风花园 101", []),
        ("向阳小区", []),  # another community's compound: not found, not even counted
        ("1单元102", []),
        ("nonsense", []),
    ],
)
def test_a_typed_address_finds_the_households_at_it(
    town: Town, homes: dict[str, Household], text: str, expected: list[str]
) -> None:
    assert found(town.east_worker, text) == ids(homes, *expected)


def test_the_other_community_finds_its_own_by_full_address(
    town: Town, homes: dict[str, Household]
) -> None:
    assert found(town.west_worker, "向阳小区 1号楼 1单元102") == ids(homes, "west")
    assert found(town.west_worker, "东风花园") == set()


def test_new_case_and_care_watch_search_by_address(
    town: Town, homes: dict[str, Household], django_assert_max_num_queries: Any
) -> None:
    client = login(town.east_worker)
    with django_assert_max_num_queries(12):
        page = client.get("/quarantine/cases/new/", {"q": "东风花园 3号楼 2单元501"})
    html = page.content.decode()
    assert html.count('data-testid="household"') == 1
    assert f"/quarantine/cases/new/{town.east_home.pk}/" in html
    create_person(None, homes["12-1-302"], PersonData.clean("王老伯", "", ""))
    care = client.get("/care/", {"q": "12号楼302"}).content.decode()
    elder = Person.objects.get(name="王老伯")
    assert f"/care/new/{elder.pk}/" in care
    assert f"/care/new/{town.east_person.pk}/" not in care
    households = client.get("/households/", {"q": "3号楼 501"}).content.decode()
    assert households.count(f'href="/households/{town.east_home.pk}/"') == 1
    assert f'href="/households/{homes["12-1-501"].pk}/"' not in households
