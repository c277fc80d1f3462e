"""The scoping matrix for the quarantine and passes apps: every role × their object pages and
API × inside and outside the role's areas. Same rules as tests/core/test_scoping.py: out of
scope is 404, a role without the work is 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from shouwang.passes.models import Pass
from shouwang.passes.services.issue import issue_pass
from shouwang.quarantine.models import Case, Source
from shouwang.quarantine.services.cases import CaseData, start_case
from tests.conftest import Town, login
from tests.core.test_scoping import _user


@dataclass
class Objects:
    case: dict[str, Case]
    pass_: dict[str, Pass]


@pytest.fixture
def objects(town: Town) -> Objects:
    cases, passes = {}, {}
    for side in ("east", "west"):
        person = getattr(town, f"{side}_person")
        cases[side] = start_case(
            None,
            person.household,
            CaseData(people=[person], source=Source.CLOSE_CONTACT, no_device_reason="缺货"),
        )
        passes[side] = issue_pass(None, person).pass_obj
    return Objects(cases, passes)


Endpoint = tuple[str, str, Callable[[Objects, str], str]]

ENDPOINTS: list[Endpoint] = [
    ("case page", "quarantine", lambda o, s: f"/quarantine/cases/{o.case[s].pk}/"),
    ("case notice", "quarantine", lambda o, s: f"/quarantine/cases/{o.case[s].pk}/notice/"),
    ("api case", "quarantine", lambda o, s: f"/api/v1/quarantine/cases/{o.case[s].pk}"),
    ("pass page", "passes", lambda o, s: f"/passes/{o.pass_[s].pk}/"),
]

# role → the side it sees, and the apps its role works in.
ROLES = {
    "admin": ("both", {"quarantine", "passes"}),
    "town_operator": ("both", {"quarantine", "passes"}),
    "east_worker": ("east", {"quarantine", "passes"}),
    "west_worker": ("west", {"quarantine", "passes"}),
    "gate_guard": ("east", set()),
    # The property office of 东风花园: alerts only (tests/core/test_scoping.py), no case, notice
    # or pass of a resident, even in its own compound.
    "property_office": ("east", set()),
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("side", ["east", "west"])
def test_matrix(town: Town, objects: Objects, role: str, endpoint: Endpoint, side: str) -> None:
    name, app, url_for = endpoint
    sees, works_in = ROLES[role]
    status = login(_user(town, role)).get(url_for(objects, side)).status_code
    if app not in works_in:
        expected = 403
    elif sees in ("both", side):
        expected = 200
    else:
        expected = 404
    assert status == expected, f"{role} {name} {side}: {status}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_gets_login_or_401(objects: Objects, endpoint: Endpoint) -> None:
    name, _, url_for = endpoint
    url = url_for(objects, "east")
    assert Client().get(url).status_code == (401 if url.startswith("/api/") else 302), name


def test_filters_naming_another_areas_id_answer_404(town: Town) -> None:
    """Not silently ignored (which listed everything and said the id exists): 404, as the
    object's own page would answer."""
    east = login(town.east_worker)
    assert east.get("/alerts/board/", {"community": town.west.pk}).status_code == 404
    assert east.get("/alerts/stats/", {"community": town.west.pk}).status_code == 404
    assert east.get("/alerts/board/", {"community": town.east.pk}).status_code == 200
    guard = login(town.gate_guard)
    assert guard.get("/gate/log/", {"compound": town.west_compound.pk}).status_code == 404
    assert guard.get("/gate/log/", {"compound": town.east_compound.pk}).status_code == 200
    assert guard.get("/gate/log/", {"compound": "rubbish"}).status_code == 200


def test_a_guard_sees_area_names_only_below_their_compound_and_no_counts(town: Town) -> None:
    guard = login(town.gate_guard)
    building = town.east_unit.get_parent()
    page = guard.get(f"/areas/{building.pk}/").content.decode()
    assert "2单元" in page
    for above in ("东风社区", "守望街道", "示范区"):
        assert above not in page, above
    assert "户 · 居民" not in page  # 住户 N 户 · 居民 N 人
    tree = guard.get("/areas/").content.decode()
    assert "东风花园" in tree
    assert "东风社区" not in tree
    areas = guard.get("/api/v1/areas").json()
    assert {a["households"] for a in areas} == {None}
    worker = login(town.east_worker).get(f"/areas/{building.pk}/").content.decode()
    assert "东风社区" in worker
