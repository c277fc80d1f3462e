"""Who reaches what: every role × every endpoint × inside and outside their areas.

Out of scope answers 404 (existence does not leak); in scope but not allowed by the role
answers 403; anonymous page requests go to the login page, anonymous API requests get 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Town, login

# (name, method, url builder taking (town, which side)), which side: "east" or "west".
Endpoint = tuple[str, str, Callable[[Town, str], str]]


def _side(town: Town, side: str, what: str) -> Any:
    return getattr(town, f"{side}_{what}")


ENDPOINTS: list[Endpoint] = [
    ("area page", "get", lambda t, s: f"/areas/{_side(t, s, 'compound').pk}/"),
    ("household page", "get", lambda t, s: f"/households/{_side(t, s, 'home').pk}/"),
    ("person page", "get", lambda t, s: f"/people/{_side(t, s, 'person').pk}/"),
    ("people by area", "get", lambda t, s: f"/people/?area={_side(t, s, 'compound').pk}"),
    ("households by area", "get", lambda t, s: f"/households/?area={_side(t, s, 'unit').pk}"),
    ("reveal page", "post", lambda t, s: f"/people/{_side(t, s, 'person').pk}/"),
    ("api household", "get", lambda t, s: f"/api/v1/households/{_side(t, s, 'home').pk}"),
    ("api person", "get", lambda t, s: f"/api/v1/people/{_side(t, s, 'person').pk}"),
    ("api people by area", "get", lambda t, s: f"/api/v1/people?area={_side(t, s, 'compound').pk}"),
    ("api reveal", "post", lambda t, s: f"/api/v1/people/{_side(t, s, 'person').pk}/reveal"),
]

# role → side it may see ("both", "east", "none"), and whether its role may use resident pages.
ROLES = {
    "admin": ("both", True),
    "town_operator": ("both", True),
    "east_worker": ("east", True),
    "west_worker": ("west", True),
    "gate_guard": ("east", False),
}


def _call(client: Client, method: str, url: str) -> int:
    if method == "post" and url.startswith("/api/"):
        return client.post(url, {"field": "phone"}, content_type="application/json").status_code
    if method == "post":
        return client.post(url, {"field": "phone"}).status_code
    return client.get(url).status_code


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("side", ["east", "west"])
def test_matrix(town: Town, role: str, endpoint: Endpoint, side: str) -> None:
    name, method, url_for = endpoint
    sees, resident_work = ROLES[role]
    client = login(getattr(town, role))
    status = _call(client, method, url_for(town, side))
    in_scope = sees == "both" or sees == side
    if not in_scope:
        # A guard has no resident permission at all, so it is refused before any lookup.
        expected = 403 if not resident_work and name != "area page" else 404
    elif not resident_work and name != "area page":
        expected = 403
    else:
        expected = 200
    assert status == expected, f"{role} {name} {side}: {status}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_gets_login_or_401(town: Town, endpoint: Endpoint) -> None:
    name, method, url_for = endpoint
    url = url_for(town, "east")
    status = _call(Client(), method, url)
    assert status == (401 if url.startswith("/api/") else 302), name


def test_lists_only_show_own_community(town: Town) -> None:
    east = login(town.east_worker)
    page = east.get("/people/").content.decode()
    assert "张*明" in page
    assert "李*" not in page
    api = east.get("/api/v1/people").json()
    assert [p["id"] for p in api["items"]] == [town.east_person.pk]
    areas = {a["name"] for a in east.get("/api/v1/areas").json()}
    assert "东风社区" in areas
    assert "向阳社区" not in areas
    assert "守望街道" not in areas


def test_town_operator_sees_both_communities(town: Town) -> None:
    names = {a["name"] for a in login(town.town_operator).get("/api/v1/areas").json()}
    assert {"东风社区", "向阳社区", "守望街道"} <= names


def test_pages_with_personal_data_are_not_cached(town: Town) -> None:
    response = login(town.east_worker).get(f"/people/{town.east_person.pk}/")
    assert "no-store" in response["Cache-Control"]
    api = login(town.east_worker).get(f"/api/v1/people/{town.east_person.pk}")
    assert "no-store" in api["Cache-Control"]


def test_api_post_needs_csrf_token(town: Town) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(town.east_worker)
    response = client.post(
        f"/api/v1/people/{town.east_person.pk}/reveal",
        {"field": "phone"},
        content_type="application/json",
    )
    assert response.status_code == 403
