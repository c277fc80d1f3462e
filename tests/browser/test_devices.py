"""A community worker installs and recovers a door sensor on a phone, in a real browser.

The scanner is a keyboard wedge: it types the id into the focused field and presses Enter, so
the test does the same with the keyboard. Texts are compared through `zh()`.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.devices.models import Device, DeviceStatus, Installation
from shouwang.devices.services.keys import create_ingest_key
from shouwang.devices.services.lifecycle import register_device
from tests.browser.conftest import logged_in, zh
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ADDRESS = "东风花园 3号楼 2单元501"


def scan(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def test_worker_installs_sees_events_and_recovers_a_sensor_on_a_phone(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    device = register_device(None, "generic", "gate3-door-42", town.east, label="SW-0042")
    _key, secret = create_ingest_key(None, "东风网关", "generic", area=town.east)
    page.set_viewport_size(PHONE)
    logged_in(page, live_server, town.east_worker, PASSWORD)

    page.locator("nav.main-nav").get_by_role("link", name=zh("Devices"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Devices"))
    page.get_by_role("link", name=zh("Install"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Install a device"))

    # The id field has the focus as the page opens: the scanner can fire at once.
    expect(page.get_by_label(zh("Device id"))).to_be_focused()
    scan(page, "NOPE-1")
    expect(page.get_by_test_id("device-error")).to_have_text(
        zh("No device with this id among your devices. Check the id on the sticker.")
    )
    page.get_by_label(zh("Device id")).fill("")
    scan(page, "SW-0042")

    expect(page.get_by_test_id("chosen-device")).to_contain_text("SW-0042")
    household = page.get_by_label(zh("Household"))
    expect(household).to_be_focused()
    page.keyboard.type("3号楼2单元501")
    page.keyboard.press("Enter")
    choices = page.get_by_test_id("household-choice")
    expect(choices).to_have_text([ADDRESS])
    choices.click()

    expect(page.get_by_test_id("chosen-household")).to_have_text(ADDRESS)
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.IN_STOCK
    page.get_by_role("button", name=zh("Confirm installation")).click()

    expect(page).to_have_url(re.compile(rf"/devices/{device.pk}/$"))
    expect(page.get_by_test_id("status")).to_have_text(zh("Installed"))
    expect(page.get_by_test_id("household")).to_have_text(f"东风社区 {ADDRESS}")
    expect(page.get_by_test_id("installation")).to_have_count(1)
    expect(page.get_by_test_id("event")).to_have_count(0)
    stay = Installation.objects.get(device=device)
    assert (stay.household, stay.installed_by) == (town.east_home, town.east_worker)

    # The gateway pushes a door-open message; after a reload it is on the timeline.
    response = page.request.post(
        "/api/v1/ingest/generic",
        data=json.dumps({"device": "gate3-door-42", "door": "open", "battery": 88, "id": "m1"}),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert response.status == 200, response.text()
    assert response.json()["stored"] == 1
    page.reload()
    events = page.get_by_test_id("event")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text(zh("Door opened"))
    expect(events.first).to_contain_text("88%")
    expect(page.get_by_test_id("door")).to_contain_text(zh("Open"))

    # Recover it with the scanner, from the recover page.
    page.get_by_role("link", name=zh("Recover"), exact=True).click()
    expect(page.get_by_label(zh("Device id"))).to_be_focused()
    scan(page, "SW-0042")
    expect(page.get_by_test_id("installed-at")).to_have_text(ADDRESS)
    page.get_by_role("button", name=zh("Confirm recovery")).click()
    expect(page.locator("ul.messages li.success")).to_contain_text(ADDRESS)
    expect(page.get_by_label(zh("Device id"))).to_be_focused()  # ready for the next one

    device.refresh_from_db()
    assert (device.status, device.household, device.area) == (
        DeviceStatus.RECOVERED,
        None,
        town.east,
    )
    page.goto(f"/devices/{device.pk}/")
    expect(page.get_by_test_id("status")).to_have_text(zh("Recovered"))
    expect(page.get_by_test_id("installation")).to_contain_text("east")
