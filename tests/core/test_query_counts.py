"""List pages and list endpoints make a fixed number of queries, however many rows they show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shouwang.core.demo import fake_id_number
from shouwang.core.models import AreaKind
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import PersonData, create_household, create_person
from tests.conftest import Town, login


def _grow(town: Town, n: int) -> None:
    import random
    from datetime import date

    rng = random.Random(n)
    building = create_area(None, town.east_compound, f"{n}号楼", AreaKind.BUILDING)
    unit = building
    for i in range(n):
        if i % 3 == 0:
            unit = create_area(None, building, f"{i}单元", AreaKind.UNIT)
        home = create_household(None, unit, f"{i + 100}")
        create_person(
            None,
            home,
            PersonData.clean(
                f"测试{i}", fake_id_number(rng, date(1980, 1, 1 + i % 28)), "13800000000"
            ),
        )


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


URLS: list[Callable[[Town], str]] = [
    lambda t: "/people/",
    lambda t: "/households/",
    lambda t: "/areas/",
    lambda t: f"/areas/{t.east_compound.pk}/",
    lambda t: "/api/v1/people",
    lambda t: "/api/v1/households",
    lambda t: "/api/v1/areas",
    lambda t: "/",
]


@pytest.mark.parametrize(
    "url_for",
    URLS,
    ids=[
        "people",
        "households",
        "tree",
        "area",
        "api-people",
        "api-households",
        "api-areas",
        "home",
    ],
)
def test_queries_do_not_grow_with_rows(town: Town, url_for: Callable[[Town], str]) -> None:
    client = login(town.east_worker)
    url = url_for(town)
    _count(client, url)  # warm caches (content types, session)
    small = _count(client, url)
    _grow(town, 12)
    large = _count(client, url)
    assert large == small, f"{url}: {small} queries with few rows, {large} with more"
    # The worker's home page answers four questions (open alerts, checks due, sensors to fit
    # or take back, cases ending today): a query or so each on top of the page's own; and one
    # more for the video patrol's open rectification orders of their community.
    assert small <= (15 if url == "/" else 10)
