"""Who reaches which device: every role × every device endpoint × inside and outside their areas.

As for residents (tests/core/test_scoping.py): out of scope answers 404, in scope but not
allowed by the role answers 403, anonymous pages go to the login page, anonymous API calls get
401. Each community has an installed device, an unclaimed one heard there, and an area.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.services.lifecycle import install_device, register_device
from tests.conftest import Town, login


@dataclass
class Devices:
    east: Device
    west: Device
    east_heard: Device
    west_heard: Device


@pytest.fixture
def devices(town: Town) -> Devices:
    def installed(side: str) -> Device:
        device = register_device(None, "generic", f"{side}-door", getattr(town, side))
        return install_device(None, device, getattr(town, f"{side}_home"))

    def heard(side: str) -> Device:
        return Device.objects.create(
            adapter="generic", key=f"{side}-heard", area=getattr(town, side)
        )

    return Devices(installed("east"), installed("west"), heard("east"), heard("west"))


# (name, method, url builder taking (town, devices, side), expected status when allowed)
Endpoint = tuple[str, str, Callable[[Town, Devices, str], str], int]

ENDPOINTS: list[Endpoint] = [
    ("device page", "get", lambda t, d, s: f"/devices/{getattr(d, s).pk}/", 200),
    ("devices by area", "get", lambda t, d, s: f"/devices/?area={getattr(t, s).pk}", 200),
    ("recover action", "post", lambda t, d, s: f"/devices/{getattr(d, s).pk}/recover/", 302),
    ("lost action", "post", lambda t, d, s: f"/devices/{getattr(d, s).pk}/lost/", 302),
    ("claim", "post", lambda t, d, s: f"/devices/{getattr(d, f'{s}_heard').pk}/claim/", 302),
    ("api device", "get", lambda t, d, s: f"/api/v1/devices/{getattr(d, s).pk}", 200),
    ("api devices by area", "get", lambda t, d, s: f"/api/v1/devices?area={getattr(t, s).pk}", 200),
]

# role → the side it sees ("both", "east", "west"), and whether its role does device work.
ROLES = {
    "admin": ("both", True),
    "town_operator": ("both", True),
    "east_worker": ("east", True),
    "west_worker": ("west", True),
    "gate_guard": ("east", False),
}


def _call(client: Client, method: str, url: str, town: Town, side: str) -> int:
    if method == "post":
        return client.post(url, {"area": getattr(town, side).pk, "note": "矩阵"}).status_code
    return client.get(url).status_code


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("side", ["east", "west"])
def test_matrix(town: Town, devices: Devices, role: str, endpoint: Endpoint, side: str) -> None:
    name, method, url_for, allowed = endpoint
    sees, device_work = ROLES[role]
    status = _call(login(getattr(town, role)), method, url_for(town, devices, side), town, side)
    if not device_work:
        expected = 403  # refused before any look-up, in its compound or not
    elif sees in ("both", side):
        expected = allowed
    else:
        expected = 404
    assert status == expected, f"{role} {name} {side}: {status}"


def test_out_of_scope_posts_change_nothing(town: Town, devices: Devices) -> None:
    client = login(town.east_worker)
    for url in (
        f"/devices/{devices.west.pk}/recover/",
        f"/devices/{devices.west.pk}/lost/",
        f"/devices/{devices.west.pk}/retire/",
    ):
        assert client.post(url).status_code == 404
    assert (
        client.post(f"/devices/{devices.west_heard.pk}/claim/", {"area": town.east.pk}).status_code
        == 404
    )
    devices.west.refresh_from_db()
    devices.west_heard.refresh_from_db()
    assert devices.west.status == DeviceStatus.INSTALLED
    assert devices.west_heard.status == DeviceStatus.UNCLAIMED


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_gets_login_or_401(town: Town, devices: Devices, endpoint: Endpoint) -> None:
    name, method, url_for, _allowed = endpoint
    url = url_for(town, devices, "east")
    status = _call(Client(), method, url, town, "east")
    assert status == (401 if url.startswith("/api/") else 302), name


@pytest.mark.parametrize(
    "path",
    [
        "/devices/",
        "/devices/install/",
        "/devices/recover/",
        "/devices/unclaimed/",
        "/devices/dead-letters/",
    ],
)
def test_anonymous_list_pages_go_to_login(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_lists_show_own_community_only(town: Town, devices: Devices) -> None:
    for role, keys in (
        ("east_worker", {"east-door", "east-heard"}),
        ("west_worker", {"west-door", "west-heard"}),
        ("town_operator", {"east-door", "east-heard", "west-door", "west-heard"}),
    ):
        client = login(getattr(town, role))
        api = {d["key"] for d in client.get("/api/v1/devices").json()["items"]}
        assert api == keys, role
        page = client.get("/devices/").content.decode()
        for key in ("east-door", "west-door", "east-heard", "west-heard"):
            assert (f'data-key="{key}"' in page) == (key in keys), (role, key)
        unclaimed = client.get("/devices/unclaimed/").content.decode()
        assert ("west-heard" in unclaimed) == ("west-heard" in keys), role


def test_device_answers_are_not_cached(town: Town, devices: Devices) -> None:
    client = login(town.east_worker)
    for url in (f"/devices/{devices.east.pk}/", f"/api/v1/devices/{devices.east.pk}", "/devices/"):
        assert "no-store" in client.get(url)["Cache-Control"], url


def test_api_get_device_needs_no_csrf_but_pages_post_do(town: Town, devices: Devices) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(town.east_worker)
    assert client.get(f"/api/v1/devices/{devices.east.pk}").status_code == 200
    assert client.post(f"/devices/{devices.east.pk}/recover/").status_code == 403
    devices.east.refresh_from_db()
    assert devices.east.status == DeviceStatus.INSTALLED
