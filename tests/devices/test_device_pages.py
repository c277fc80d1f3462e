"""The device screens and the staff device API: who sees what, filters, the install and recover
flow on a phone, dead letters, unclaimed devices, the admin, and fixed query counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.html import escape

from shouwang.core.models import AreaKind, AuditLog, Household
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import create_household
from shouwang.devices.adapters import Reading
from shouwang.devices.forms import NOT_FOUND, find_households
from shouwang.devices.models import (
    DeadLetter,
    Device,
    DeviceEvent,
    DeviceStatus,
    IngestKey,
)
from shouwang.devices.services.ingest import Incoming, ingest, record_dead_letter
from shouwang.devices.services.keys import authenticate
from shouwang.devices.services.lifecycle import install_device, recover_device, register_device
from tests.conftest import Town, login

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PHONE = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
}


def device_in_stock(town: Town, key: str, side: str = "east", **fields: Any) -> Device:
    return register_device(None, "generic", key, getattr(town, side), **fields)


def device_at_home(town: Town, key: str, side: str = "east", **fields: Any) -> Device:
    device = device_in_stock(town, key, side, **fields)
    return install_device(None, device, getattr(town, f"{side}_home"))


def send(device: Device, minute: int, received_minute: int | None = None, **facts: Any) -> None:
    """One message from the device, `minute`s after T0 (received then, or later)."""
    at = T0 + timedelta(minutes=minute)
    received = T0 + timedelta(minutes=minute if received_minute is None else received_minute)
    reading = Reading(
        adapter=device.adapter,
        device_key=device.key,
        event_time=at,
        dedup_key=f"{device.key}-{minute}-{sorted(facts.items())}",
        raw={"device": device.key, **facts},
        **facts,
    )
    ingest([Incoming(reading, received)], "http")


def zh(message: Any) -> str:
    """`message` as a Chinese page shows it (the English text while it is untranslated)."""
    with translation.override("zh-hans"):
        return str(translation.gettext(str(message)))


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def keys_in(page: str) -> list[str]:
    return re.findall(r'data-testid="device-row" data-key="([^"]+)"', page)


# --- Who sees the pages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("town_operator", 200),
        ("east_worker", 200),
        ("west_worker", 200),
        ("gate_guard", 403),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/devices/",
        "/devices/unclaimed/",
        "/devices/install/",
        "/devices/recover/",
        "/api/v1/devices",
    ],
)
def test_device_pages_per_role(town: Town, role: str, status: int, path: str) -> None:
    assert login(getattr(town, role)).get(path).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("town_operator", 200),
        ("east_worker", 403),
        ("west_worker", 403),
        ("gate_guard", 403),
    ],
)
def test_dead_letters_are_for_operators(town: Town, role: str, status: int) -> None:
    assert login(getattr(town, role)).get("/devices/dead-letters/").status_code == status


def test_nav_shows_devices_to_device_roles_only(town: Town) -> None:
    assert 'href="/devices/"' in text(login(town.east_worker).get("/"))
    assert 'href="/devices/"' not in text(login(town.gate_guard).get("/gate/"))
    worker_page = text(login(town.east_worker).get("/devices/"))
    assert 'href="/devices/dead-letters/"' not in worker_page
    assert 'href="/devices/dead-letters/"' in text(login(town.town_operator).get("/devices/"))


def test_list_shows_only_devices_in_ones_areas(town: Town) -> None:
    device_at_home(town, "east-door")
    device_at_home(town, "west-door", "west")
    assert keys_in(text(login(town.east_worker).get("/devices/"))) == ["east-door"]
    assert keys_in(text(login(town.west_worker).get("/devices/"))) == ["west-door"]
    assert keys_in(text(login(town.town_operator).get("/devices/"))) == ["east-door", "west-door"]
    api = login(town.east_worker).get("/api/v1/devices").json()
    assert (api["count"], [d["key"] for d in api["items"]]) == (1, ["east-door"])


def test_list_shows_address_health_and_times(town: Town) -> None:
    device = device_at_home(town, "east-door", label="A001")
    send(device, 0, door="open", battery_percent=15, signal=-71, tamper=True)
    device_in_stock(town, "spare")
    page = text(login(town.east_worker).get("/devices/"))
    assert "东风花园 3号楼 2单元501" in page
    assert "东风社区" in page  # the spare's stock
    assert "15%" in page
    assert "-71" in page
    assert 'data-testid="flag-battery"' in page
    assert 'data-testid="flag-tamper"' in page
    assert 'data-testid="flag-offline"' not in page
    # Absolute time in Asia/Shanghai: 08:00 UTC is 16:00 there.
    assert "2026-03-01 16:00" in page
    # And how long ago, in words.
    assert re.search(r'<time datetime="2026-03-01T16:00:00\+08:00"[^>]*>[^<]+</time>', page)


# --- Filters ----------------------------------------------------------------------------------


@pytest.fixture
def fleet(town: Town) -> dict[str, Device]:
    """Devices in every state and health the filters tell apart, all in 东风社区."""
    ok = device_at_home(town, "ok-door", label="A001", hardware_id="00124b001c2d3e4f")
    send(ok, 0, door="closed", battery_percent=90)
    other_home = create_household(None, town.east_unit, "502")
    opened = install_device(None, device_in_stock(town, "open-door"), other_home)
    send(opened, 0, door="open", battery_percent=10)
    tampered = device_in_stock(town, "tampered", model="DS01")
    send(tampered, 0, tamper=True)
    offline = device_in_stock(town, "offline-door")
    send(offline, 0, online=False, kind="availability")
    unclaimed = Device.objects.create(adapter="zigbee2mqtt", key="heard", area=town.east)
    return {
        "ok": ok,
        "open": opened,
        "tampered": tampered,
        "offline": offline,
        "unclaimed": unclaimed,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["heard", "offline-door", "ok-door", "open-door", "tampered"]),
        ("status=installed", ["ok-door", "open-door"]),
        ("status=unclaimed", ["heard"]),
        ("offline=1", ["offline-door"]),
        ("battery_low=1", ["open-door"]),
        ("tamper=1", ["tampered"]),
        ("door=open", ["open-door"]),
        ("door=closed", ["ok-door"]),
        ("adapter=zigbee2mqtt", ["heard"]),
        ("q=A001", ["ok-door"]),
        ("q=open", ["open-door"]),
        ("q=00:12:4B:00:1C:2D:3E:4F", ["ok-door"]),
        ("status=installed&door=open&battery_low=1", ["open-door"]),
        ("status=bogus", ["heard", "offline-door", "ok-door", "open-door", "tampered"]),
    ],
)
def test_filters_on_the_page_and_the_api(
    town: Town, fleet: dict[str, Device], query: str, expected: list[str]
) -> None:
    client = login(town.east_worker)
    page = text(client.get(f"/devices/?{query}"))
    assert sorted(keys_in(page)) == expected
    if "bogus" in query:
        return  # the API answers 422 for a value it does not know
    api_query = query.replace("=1", "=true")
    api = client.get(f"/api/v1/devices?{api_query}")
    assert api.status_code == 200, api.content
    assert sorted(d["key"] for d in api.json()["items"]) == expected


def test_api_can_ask_for_healthy_devices_and_rejects_unknown_values(
    town: Town, fleet: dict[str, Device]
) -> None:
    client = login(town.east_worker)
    healthy = client.get("/api/v1/devices?offline=false&tamper=false&battery_low=false").json()
    assert sorted(d["key"] for d in healthy["items"]) == ["heard", "ok-door"]
    assert client.get("/api/v1/devices?status=bogus").status_code == 422
    assert client.get("/api/v1/devices?door=ajar").status_code == 422


def test_area_filter_is_scoped(town: Town, fleet: dict[str, Device]) -> None:
    client = login(town.east_worker)
    page = text(client.get(f"/devices/?area={town.east_unit.pk}"))
    assert sorted(keys_in(page)) == ["ok-door", "open-door"]
    assert client.get(f"/devices/?area={town.west.pk}").status_code == 404
    assert client.get(f"/api/v1/devices?area={town.west.pk}").status_code == 404


def test_list_is_paginated_and_keeps_the_filters(town: Town) -> None:
    for i in range(55):
        device_in_stock(town, f"door-{i:02d}")
    client = login(town.east_worker)
    first = text(client.get("/devices/?status=in_stock"))
    assert len(keys_in(first)) == 50
    assert "?status=in_stock&page=2" in first
    assert len(keys_in(text(client.get("/devices/?status=in_stock&page=2")))) == 5
    api = client.get("/api/v1/devices?limit=20&offset=40").json()
    assert (api["count"], len(api["items"])) == (55, 15)


# --- The device page --------------------------------------------------------------------------


def test_device_page_shows_identity_state_timeline_health_and_history(town: Town) -> None:
    device = device_at_home(
        town, "door-1", label="A001", hardware_id="00124b001c2d3e4f", model="MCCGQ11LM"
    )
    send(device, 0, door="open", battery_percent=80)
    send(device, 5, door="closed", battery_percent=15)
    send(device, 10, tamper=True)
    send(device, 2, received_minute=12, door="open")  # late: stored, changed nothing
    page = text(login(town.east_worker).get(f"/devices/{device.pk}/"))
    for expected in (
        "door-1",
        "A001",
        "00124b001c2d3e4f",
        "MCCGQ11LM",
        "东风社区 东风花园 3号楼 2单元501",
    ):
        assert expected in page, expected
    timeline = page[
        page.index('data-testid="timeline"') : page.index('data-testid="health-events"')
    ]
    events = re.findall(r'<tr data-testid="event".*?</tr>', timeline, re.S)
    assert len(events) == 4
    # Newest first, by the time the device says it happened; the late one in its place.
    assert "16:10:00" in events[0]
    assert zh("Tampered or removed") in events[0]
    assert "16:05:00" in events[1]
    assert "15%" in events[1]
    assert "16:02:00" in events[2]
    assert 'data-testid="stale"' in events[2]
    assert "16:00:00" in events[3]
    assert 'data-testid="stale"' not in events[3]
    health = page[page.index('data-testid="health-events"') :]
    assert health.count("<li>") >= 2  # battery low, tampered
    assert 'data-testid="installation"' in page


def test_device_page_lists_installations_with_who_and_when(town: Town) -> None:
    device = device_at_home(town, "door-1")
    recover_device(town.east_worker, device)
    install_device(town.east_worker, device, town.east_home)
    page = text(login(town.east_worker).get(f"/devices/{device.pk}/"))
    stays = re.findall(r'<tr data-testid="installation">.*?</tr>', page, re.S)
    assert len(stays) == 2
    assert "东风花园 3号楼 2单元501" in stays[0]
    assert "east" in stays[0]
    assert "east" in stays[1]  # recovered by


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (DeviceStatus.IN_STOCK, {"install", "retire", "lost"}),
        (DeviceStatus.INSTALLED, {"recover", "lost"}),
        (DeviceStatus.RECOVERED, {"install", "restock", "retire", "lost"}),
        (DeviceStatus.RETIRED, set()),
        (DeviceStatus.UNCLAIMED, {"claim"}),
    ],
)
def test_device_page_offers_the_actions_that_apply(
    town: Town, status: DeviceStatus, buttons: set[str]
) -> None:
    device = device_in_stock(town, "door-1")
    if status == DeviceStatus.INSTALLED:
        install_device(None, device, town.east_home)
    elif status == DeviceStatus.RECOVERED:
        recover_device(None, install_device(None, device, town.east_home))
    elif status != DeviceStatus.IN_STOCK:
        Device.objects.filter(pk=device.pk).update(status=status)
    page = text(login(town.east_worker).get(f"/devices/{device.pk}/"))
    assert set(re.findall(r'data-testid="action-(\w+)"', page)) == buttons
    # An operator of the town may too; nobody sees buttons for a device they cannot manage.
    assert (
        set(
            re.findall(
                r'data-testid="action-(\w+)"',
                text(login(town.town_operator).get(f"/devices/{device.pk}/")),
            )
        )
        == buttons
    )


def test_lifecycle_buttons_post_to_the_actions(town: Town) -> None:
    device = device_at_home(town, "door-1")
    client = login(town.east_worker)
    response = client.post(f"/devices/{device.pk}/recover/", follow=True)
    assert escape(zh("Device recovered; it is back in the community's stock.")) in text(response)
    device.refresh_from_db()
    assert (device.status, device.area) == (DeviceStatus.RECOVERED, town.east)
    client.post(f"/devices/{device.pk}/restock/")
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK
    client.post(f"/devices/{device.pk}/retire/", {"note": "外壳破损"})
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETIRED
    assert AuditLog.objects.get(action="device.retire").details == {"note": "外壳破损"}
    refused = client.post(f"/devices/{device.pk}/lost/", follow=True)
    assert 'class="error"' in text(refused)
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETIRED
    assert client.post(f"/devices/{device.pk}/explode/").status_code == 404
    assert client.get(f"/devices/{device.pk}/retire/").status_code == 405
    assert AuditLog.objects.get(action="device.recover").source == "web"


def test_out_of_area_device_page_api_and_actions_are_not_found(town: Town) -> None:
    west = device_at_home(town, "west-door", "west")
    client = login(town.east_worker)
    assert client.get(f"/devices/{west.pk}/").status_code == 404
    assert client.get(f"/api/v1/devices/{west.pk}").status_code == 404
    assert client.post(f"/devices/{west.pk}/recover/").status_code == 404
    assert client.get("/devices/999999/").status_code == 404
    west.refresh_from_db()
    assert west.status == DeviceStatus.INSTALLED


def test_guard_is_forbidden_even_in_its_own_compound(town: Town) -> None:
    device = device_at_home(town, "east-door")
    guard = login(town.gate_guard)
    assert guard.get(f"/devices/{device.pk}/").status_code == 403
    assert guard.get(f"/api/v1/devices/{device.pk}").status_code == 403
    assert guard.post(f"/devices/{device.pk}/recover/").status_code == 403
    assert guard.post("/devices/install/", {"device": "east-door"}).status_code == 403


def test_api_device_detail(town: Town) -> None:
    device = device_at_home(town, "door-1", label="A001")
    for minute in range(60):
        send(
            device,
            minute,
            door="open" if minute % 2 else "closed",
            battery_percent=max(0, 90 - 2 * minute),
        )
    body = login(town.east_worker).get(f"/api/v1/devices/{device.pk}").json()
    assert body["key"] == "door-1"
    assert body["status"] == "installed"
    assert body["address"] == "东风花园 3号楼 2单元501"
    assert body["door"] == "open"
    assert len(body["events"]) == 50
    assert body["events"][0]["event_time"].startswith("2026-03-01T08:59:00")
    assert body["health_events"][0]["kind"] == "battery_low"
    assert body["installations"][0]["address"] == "东风花园 3号楼 2单元501"
    raw = str(body)
    for personal in ("张", "13812345678", "11010519491231002X"):
        assert personal not in raw


# --- Install and recover on a phone ----------------------------------------------------------


def test_install_flow_on_a_phone(town: Town) -> None:
    device = device_in_stock(town, "0x00124b001c2d3e4f", label="SW-0042")
    client = login(town.east_worker)
    start = text(client.get("/devices/install/", **PHONE))
    scan = re.search(r'<input id="id_device"[^>]*>', start)
    assert scan is not None
    assert "autofocus" in scan.group(0)
    assert 'inputmode="text"' in scan.group(0)

    # The scanner types the sticker's label and presses Enter.
    step2 = text(client.post("/devices/install/", {"device": "SW-0042"}, **PHONE))
    assert 'data-testid="step-household"' in step2
    assert re.search(r'<input id="id_q"[^>]*autofocus', step2)

    found = text(
        client.post("/devices/install/", {"device": device.key, "q": "3号楼2单元501"}, **PHONE)
    )
    choices = re.findall(r'<button name="household" value="(\d+)"[^>]*>([^<]+)<', found)
    assert choices == [(str(town.east_home.pk), "东风花园 3号楼 2单元501")]

    confirm = text(
        client.post(
            "/devices/install/", {"device": device.key, "household": town.east_home.pk}, **PHONE
        )
    )
    assert 'data-testid="step-confirm"' in confirm
    assert "东风花园 3号楼 2单元501" in confirm
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK  # nothing happens before the confirmation

    done = client.post(
        "/devices/install/",
        {"device": device.key, "household": town.east_home.pk, "confirm": "1"},
        **PHONE,
    )
    assert done.status_code == 302
    assert done["Location"] == f"/devices/{device.pk}/"
    device.refresh_from_db()
    assert (device.status, device.household) == (DeviceStatus.INSTALLED, town.east_home)
    assert AuditLog.objects.get(action="device.install").source == "web"


def install_error(client: Client, **data: Any) -> str:
    page = text(client.post("/devices/install/", data))
    errors = re.findall(r'role="alert"[^>]*>([^<]+)<', page)
    assert errors, "no error shown"
    return " ".join(errors)


def test_install_errors_are_clear_and_out_of_scope_reads_as_unknown(town: Town) -> None:
    device_at_home(town, "already")
    device_in_stock(town, "west-spare", "west")
    Device.objects.create(adapter="generic", key="heard", area=town.east)
    retired = device_in_stock(town, "old")
    Device.objects.filter(pk=retired.pk).update(status=DeviceStatus.RETIRED)
    client = login(town.east_worker)
    unknown = install_error(client, device="nope")
    assert unknown == zh(NOT_FOUND)
    assert install_error(client, device="west-spare") == unknown
    assert install_error(client, device="already") == zh(
        "This device is already installed. Recover it from its household first."
    )
    assert install_error(client, device="heard") == zh(
        "This device has not been claimed into stock yet."
    )
    assert zh("Retired") in install_error(client, device="old")
    # A household outside one's areas, typed into the hidden field, is not found either.
    device_in_stock(town, "spare")
    page = text(
        client.post("/devices/install/", {"device": "spare", "household": town.west_home.pk})
    )
    assert 'data-testid="step-household"' in page
    assert zh("Household not found.") in page
    assert Device.objects.get(key="spare").status == DeviceStatus.IN_STOCK


def test_two_workers_confirm_the_same_device_the_second_is_told(town: Town) -> None:
    from shouwang.core.models import Role
    from shouwang.core.services.staff import create_staff

    device = device_in_stock(town, "door-1")
    other = login(create_staff(None, "east2", "pw-東風-123456", Role.COMMUNITY_WORKER, [town.east]))
    first = login(town.east_worker)
    other_home = create_household(None, town.east_unit, "502")
    data = {"device": "door-1", "confirm": "1"}
    assert (
        first.post("/devices/install/", {**data, "household": town.east_home.pk}).status_code == 302
    )
    page = text(other.post("/devices/install/", {**data, "household": other_home.pk}))
    assert zh("This device is already installed. Recover it from its household first.") in page
    device.refresh_from_db()
    assert device.household == town.east_home


def test_household_search_by_door_number(town: Town) -> None:
    compound = town.east_compound
    building = create_area(None, compound, "5号楼", AreaKind.BUILDING)
    unit = create_area(None, building, "1单元", AreaKind.UNIT)
    five_501 = create_household(None, unit, "501")
    east_502 = create_household(None, town.east_unit, "502")

    def found(typed: str, user: Any = town.east_worker) -> list[Household]:
        return [h for h, _ in find_households(user, typed)]

    assert found("3号楼2单元501") == [town.east_home]
    assert found("2单元501") == [town.east_home]
    assert found("3-2-501") == [town.east_home]
    assert found("3 2 501") == [town.east_home]
    assert found("5号楼1单元501") == [five_501]
    assert found("东风花园5号楼1单元501") == [five_501]
    assert sorted(h.pk for h in found("501")) == sorted([town.east_home.pk, five_501.pk])
    assert found("502") == [east_502]
    assert found("3号楼2单元509") == []
    assert found("") == []
    # Another community's households are never offered.
    assert found("1号楼1单元102") == []
    assert found("1号楼1单元102", town.west_worker) == [town.west_home]
    [(_, address)] = find_households(town.east_worker, "3-2-501")
    assert address == "东风花园 3号楼 2单元501"


def test_recover_flow_on_a_phone(town: Town) -> None:
    device = device_at_home(town, "door-1", label="SW-0042")
    client = login(town.east_worker)
    start = text(client.get("/devices/recover/", **PHONE))
    assert re.search(r'<input id="id_device"[^>]*autofocus', start)
    confirm = text(client.post("/devices/recover/", {"device": "sw-0042"}, **PHONE))
    assert 'data-testid="step-confirm"' in confirm
    assert "东风花园 3号楼 2单元501" in confirm
    device.refresh_from_db()
    assert device.status == DeviceStatus.INSTALLED
    done = client.post("/devices/recover/", {"device": "door-1", "confirm": "1"}, **PHONE)
    assert done.status_code == 302
    assert done["Location"] == "/devices/recover/"
    device.refresh_from_db()
    assert (device.status, device.household, device.area) == (
        DeviceStatus.RECOVERED,
        None,
        town.east,
    )
    # Ready for the next scan, with what was just done said on top.
    after = text(client.get("/devices/recover/"))
    assert "东风花园 3号楼 2单元501" in after
    # Scanning it again: it is no longer installed.
    again = text(client.post("/devices/recover/", {"device": "door-1"}))
    assert zh("Recovered") in again
    assert 'data-testid="device-error"' in again


def test_recover_errors(town: Town) -> None:
    device_at_home(town, "west-door", "west")
    device_in_stock(town, "spare")
    client = login(town.east_worker)
    unknown = text(client.post("/devices/recover/", {"device": "nope"}))
    out_of_scope = text(client.post("/devices/recover/", {"device": "west-door"}))
    message = re.findall(r'data-testid="device-error">([^<]+)<', unknown)
    assert message
    assert re.findall(r'data-testid="device-error">([^<]+)<', out_of_scope) == message
    spare = text(client.post("/devices/recover/", {"device": "spare", "confirm": "1"}))
    assert zh("In stock") in spare
    assert 'data-testid="device-error"' in spare
    assert Device.objects.get(key="spare").status == DeviceStatus.IN_STOCK


# --- Unclaimed devices ------------------------------------------------------------------------


def test_unclaimed_page_lists_visible_unclaimed_devices_and_claims_one(town: Town) -> None:
    heard = Device.objects.create(adapter="generic", key="heard-east", area=town.east)
    Device.objects.create(adapter="generic", key="heard-west", area=town.west)
    Device.objects.create(adapter="generic", key="heard-nowhere")
    device_in_stock(town, "in-stock-1")
    client = login(town.east_worker)
    page = text(client.get("/devices/unclaimed/"))
    assert "heard-east" in page
    for hidden in ("heard-west", "heard-nowhere", "in-stock-1"):
        assert hidden not in page
    assert "向阳社区" not in page  # no area of another community to pick
    admin_page = text(login(town.admin).get("/devices/unclaimed/"))
    assert "heard-nowhere" in admin_page

    response = client.post(
        f"/devices/{heard.pk}/claim/",
        {"area": town.east_compound.pk, "model": "DS01", "label": "B7", "next": "unclaimed"},
    )
    assert response.status_code == 302
    heard.refresh_from_db()
    assert (heard.status, heard.area, heard.label) == (
        DeviceStatus.IN_STOCK,
        town.east_compound,
        "B7",
    )
    assert AuditLog.objects.get(action="device.claim").actor == town.east_worker


def test_claiming_into_another_communitys_area_is_refused(town: Town) -> None:
    heard = Device.objects.create(adapter="generic", key="heard-east", area=town.east)
    client = login(town.east_worker)
    response = client.post(
        f"/devices/{heard.pk}/claim/", {"area": town.west.pk, "next": "unclaimed"}, follow=True
    )
    assert 'class="error"' in text(response)
    heard.refresh_from_db()
    assert heard.status == DeviceStatus.UNCLAIMED
    assert not AuditLog.objects.filter(action="device.claim").exists()


# --- Dead letters -----------------------------------------------------------------------------


def test_dead_letters_newest_first_with_counts_and_escaped_truncated_payloads(town: Town) -> None:
    east = town.east
    record_dead_letter(
        "ctwing", "http", "body is not JSON", b"<script>alert(1)</script>" * 100, area=east
    )
    record_dead_letter(
        "zigbee2mqtt", "mqtt", "unknown topic", b"{}", topic="z2m/x", source="gw1", area=east
    )
    old = record_dead_letter("ctwing", "http", "old one", b"x", area=east)
    DeadLetter.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=2))
    page = text(login(town.town_operator).get("/devices/dead-letters/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    payloads = re.findall(r'data-testid="payload"[^>]*>(.*?)</pre>', page, re.S)
    assert len(payloads) == 3
    assert payloads[0] == "{}"
    shown = payloads[1].replace("&lt;", "<").replace("&gt;", ">")
    assert len(shown) <= 503
    assert shown.endswith(("…", "..."))
    rows = re.findall(r'<tr data-testid="dead-letter">.*?</tr>', page, re.S)
    assert ["unknown topic" in rows[0], "body is not JSON" in rows[1], "old one" in rows[2]] == [
        True,
        True,
        True,
    ]
    assert "z2m/x" in rows[0]
    assert "gw1" in rows[0]
    assert re.search(r'data-testid="count-ctwing">1<', page)  # the old one is not counted
    assert re.search(r'data-testid="count-zigbee2mqtt">1<', page)
    only = text(login(town.town_operator).get("/devices/dead-letters/?adapter=zigbee2mqtt"))
    assert len(re.findall(r'<tr data-testid="dead-letter">', only)) == 1


# --- Admin ------------------------------------------------------------------------------------


def test_admin_creates_an_ingest_key_and_shows_it_once(town: Town) -> None:
    client = login(town.admin)
    response = client.post(
        "/admin/devices/ingestkey/add/",
        {
            "name": "东风网关",
            "adapter": "generic",
            "area": town.east.pk,
            "config": "{}",
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    shown = re.findall(r"sw_[A-Za-z0-9_\-]{20,}", page)
    assert len(shown) == 1
    key = IngestKey.objects.get()
    assert (key.name, key.adapter, key.area) == ("东风网关", "generic", town.east)
    assert authenticate(shown[0]) == key
    assert shown[0] not in key.key_hash
    assert AuditLog.objects.filter(action="ingest_key.create").count() == 1
    # Never again: not on the list, not on the key's page.
    for url in ("/admin/devices/ingestkey/", f"/admin/devices/ingestkey/{key.pk}/change/"):
        assert shown[0] not in client.get(url).content.decode()


def test_admin_pages_render(town: Town) -> None:
    device = device_at_home(town, "door-1")
    record_dead_letter("generic", "http", "bad", b"{")
    client = login(town.admin)
    for url in (
        "/admin/devices/device/",
        f"/admin/devices/device/{device.pk}/change/",
        "/admin/devices/devicekind/",
        "/admin/devices/devicekind/add/",
        "/admin/devices/ingestkey/",
        "/admin/devices/ingestkey/add/",
        "/admin/devices/deadletter/",
        f"/admin/devices/deadletter/{DeadLetter.objects.get().pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/devices/device/add/").status_code == 403
    # The status is not editable in the admin: it moves through the actions only.
    client.post(
        f"/admin/devices/device/{device.pk}/change/",
        {"label": "A9", "model": "", "offline_after": "", "status": "retired"},
    )
    device.refresh_from_db()
    assert (device.label, device.status) == ("A9", DeviceStatus.INSTALLED)


# --- Query counts ---------------------------------------------------------------------------


def _grow(town: Town, n: int) -> None:
    """More devices, each at a household of its own building, with events and health."""
    for i in range(n):
        building = create_area(None, town.east_compound, f"{i + 10}号楼", AreaKind.BUILDING)
        unit = create_area(None, building, "1单元", AreaKind.UNIT)
        home = create_household(None, unit, f"{i + 100}")
        device = install_device(None, device_in_stock(town, f"grown-{i}"), home)
        send(device, i, door="open", battery_percent=5, tamper=True)
        send(device, i + 1, door="closed")
        DeviceEvent.objects.filter(device=device).update(received_at=T0)
    for i in range(n):
        device_in_stock(town, f"spare-{i}")
        Device.objects.create(adapter="generic", key=f"heard-{i}", area=town.east)
        record_dead_letter("generic", "http", f"bad {i}", f"{{{i}".encode(), area=town.east)


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


URLS: list[Callable[[Town, Device], str]] = [
    lambda t, d: "/devices/",
    lambda t, d: "/devices/?q=door&battery_low=1",
    lambda t, d: f"/devices/{d.pk}/",
    lambda t, d: "/devices/unclaimed/",
    lambda t, d: "/devices/dead-letters/",
    lambda t, d: "/api/v1/devices",
    lambda t, d: f"/api/v1/devices/{d.pk}",
]


@pytest.mark.parametrize(
    "url_for",
    URLS,
    ids=["list", "list-filtered", "detail", "unclaimed", "dead-letters", "api-list", "api-detail"],
)
def test_queries_do_not_grow_with_rows(town: Town, url_for: Callable[[Town, Device], str]) -> None:
    device = device_at_home(town, "door-1")
    send(device, 0, door="open")
    Device.objects.create(adapter="generic", key="heard", area=town.east)
    record_dead_letter("generic", "http", "bad", b"{", area=town.east)
    client = login(town.town_operator)
    url = url_for(town, device)
    _count(client, url)  # warm caches (content types, session)
    small = _count(client, url)
    _grow(town, 8)
    for minute in range(1, 9):
        send(device, minute, door="closed" if minute % 2 else "open")
    recover_device(None, device)
    install_device(None, device, town.east_home)
    large = _count(client, url)
    assert large == small, f"{url}: {small} queries with few rows, {large} with more"
    assert small <= 12
