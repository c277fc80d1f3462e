"""Who reaches what: every role × every endpoint × inside and outside their areas.

Out of scope answers 404 (existence does not leak); in scope but not allowed by the role
answers 403; anonymous page requests go to the login page, anonymous API requests get 401.

The property office (物业) of 东风花园 has no resident work at all (no person, household, ID or
phone page or API, no area tree) and reaches alerts only: its compound's door alerts, which it
may send someone up to; not a resident's health alert in its own compound, nothing of another
compound, no resolving and no call (which shows a resident's full phone number).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shouwang.alerts.models import Alert, Severity
from shouwang.alerts.services.alerting import Trigger, raise_alert
from shouwang.core.models import Role, User
from shouwang.core.services.staff import create_staff
from tests.conftest import PASSWORD, Town, login

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

# role → side it may see ("both", "east", "none"), whether its role may use resident pages,
# and whether it may open area pages.
ROLES = {
    "admin": ("both", True, True),
    "town_operator": ("both", True, True),
    "east_worker": ("east", True, True),
    "west_worker": ("west", True, True),
    "gate_guard": ("east", False, True),
    "property_office": ("east", False, False),
}


def _user(town: Town, role: str) -> User:
    if role == "property_office":
        # The property office of 东风花园 (the town fixture has none).
        return create_staff(None, "wuye", PASSWORD, Role.PROPERTY_OFFICE, [town.east_compound])
    user: User = getattr(town, role)
    return user


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
    sees, resident_work, area_work = ROLES[role]
    client = login(_user(town, role))
    status = _call(client, method, url_for(town, side))
    in_scope = sees == "both" or sees == side
    allowed = area_work if name == "area page" else resident_work
    if not allowed:
        # A role without the permission is refused before any lookup, in scope or not.
        expected = 403
    elif not in_scope:
        expected = 404
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


# --- alerts: who sees which alert, and who may act on it ------------------------------------


def _alerts(town: Town) -> dict[tuple[str, str], Alert]:
    """A door alert and a fever alert at each side's household."""
    made = {}
    for side in ("east", "west"):
        home = _side(town, side, "home")
        person = _side(town, side, "person")
        for kind in ("quarantine_door_open", "fever"):
            made[(side, kind)] = raise_alert(
                Trigger(
                    kind=kind,
                    subject=f"household:{home.pk}" if kind != "fever" else f"person:{person.pk}",
                    at=timezone.now(),
                    title=home.address,
                    area=home.area,
                    severity=Severity.CRITICAL,
                    household=home,
                    person=person,
                )
            )
    return made


# (name, the alert's kind, method, url for the alert, JSON body or form data, what its work is)
AlertEndpoint = tuple[str, str, str, Callable[[Alert], str], dict[str, Any], str]
DOOR, FEVER = "quarantine_door_open", "fever"
ALERT_ENDPOINTS: list[AlertEndpoint] = [
    ("door alert page", DOOR, "get", lambda a: f"/alerts/{a.pk}/", {}, "view"),
    ("fever alert page", FEVER, "get", lambda a: f"/alerts/{a.pk}/", {}, "view"),
    ("api door alert", DOOR, "get", lambda a: f"/api/v1/alerts/{a.pk}", {}, "view"),
    ("api fever alert", FEVER, "get", lambda a: f"/api/v1/alerts/{a.pk}", {}, "view"),
    (
        "send to the door",
        DOOR,
        "post",
        lambda a: f"/api/v1/alerts/{a.pk}/dispatch",
        {"sent": "王师傅"},
        "door",
    ),
    (
        "resolve",
        DOOR,
        "post",
        lambda a: f"/api/v1/alerts/{a.pk}/resolve",
        {"outcome": "visited"},
        "handle",
    ),
    ("call the resident", DOOR, "post", lambda a: f"/alerts/{a.pk}/call/", {}, "reveal"),
]
# role → (side it sees, the alert kinds it sees (None: all), the work it may do)
ALERT_ROLES: dict[str, tuple[str, set[str] | None, set[str]]] = {
    "admin": ("both", None, {"view", "door", "handle", "reveal"}),
    "town_operator": ("both", None, {"view", "door", "handle", "reveal"}),
    "east_worker": ("east", None, {"view", "door", "handle", "reveal"}),
    "west_worker": ("west", None, {"view", "door", "handle", "reveal"}),
    "gate_guard": ("east", None, set()),
    "property_office": ("east", {DOOR}, {"view", "door"}),
}


@pytest.mark.parametrize("role", list(ALERT_ROLES))
@pytest.mark.parametrize("endpoint", ALERT_ENDPOINTS, ids=[e[0] for e in ALERT_ENDPOINTS])
@pytest.mark.parametrize("side", ["east", "west"])
def test_alert_matrix(town: Town, role: str, endpoint: AlertEndpoint, side: str) -> None:
    name, kind, method, url_for, data, work = endpoint
    sees, kinds, may = ALERT_ROLES[role]
    alert = _alerts(town)[(side, kind)]
    client = login(_user(town, role))
    url = url_for(alert)
    if method == "get":
        response = client.get(url)
    elif url.startswith("/api/"):
        response = client.post(url, data, content_type="application/json")
    else:
        response = client.post(url, {"person": _side(town, side, "person").pk})
    in_scope = (sees in ("both", side)) and (kinds is None or kind in kinds)
    if "view" not in may:
        expected = 403  # no alert work at all: refused before any lookup
    elif not in_scope:
        expected = 404  # an alert it may not see does not exist for it, whatever the action
    elif work not in may:
        expected = 403
    else:
        expected = 200
    assert response.status_code == expected, f"{role} {name} {side}: {response.status_code}"
    phones = {"east": "13812345678", "west": "13987654321"}
    # Only a call shows the full number, and only to a role that may call.
    assert (phones[side] in response.content.decode()) == (expected == 200 and work == "reveal")
