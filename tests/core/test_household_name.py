"""A household is written one way everywhere, naming the building: "东风花园 3号楼 2单元501".
Its `__str__` too (admin lists, form choices, an admin's delete log), never "2单元501"; and the
admin's lists name a page of households in one query, not one per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shouwang.core.models import AreaKind, Household
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import create_household
from shouwang.devices.services.lifecycle import install_device, register_device
from tests.conftest import Town, login
from tests.core.test_query_counts import _grow


def test_a_household_is_named_by_its_full_address(town: Town) -> None:
    assert str(town.east_home) == "东风花园 3号楼 2单元501"
    assert str(Household.objects.get(pk=town.west_home.pk)) == "向阳小区 1号楼 1单元102"
    # A door straight under a building stands apart from it.
    building = create_area(None, town.east_compound, "9号楼", AreaKind.BUILDING)
    assert str(create_household(None, building, "101")) == "东风花园 9号楼 101"
    assert str(town.east_home) == town.east_home.address


def _install_at_every_household(town: Town) -> None:
    homes = Household.objects.filter(area__path__startswith=town.east.path)
    for home in homes.exclude(installations__isnull=False):
        install_device(None, register_device(None, "generic", f"door-{home.pk}", town.east), home)


@pytest.mark.parametrize("url", ["/admin/core/person/", "/admin/devices/device/"])
def test_admin_lists_name_each_household_in_full_in_one_query(town: Town, url: str) -> None:
    client = login(town.admin)
    _install_at_every_household(town)

    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), response.content.decode()

    count()  # warm caches (content types, session)
    small, page = count()
    assert "东风花园 3号楼 2单元501" in page
    assert ">2单元501<" not in page
    _grow(town, 9)
    _install_at_every_household(town)
    large, page = count()
    assert "东风花园 9号楼 6单元106" in page
    assert large == small, f"{url}: {small} queries with few rows, {large} with more"
