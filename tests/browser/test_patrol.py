"""The video patrol in Chromium: the operator walks a round with the keyboard on a 1440 px
desktop and records a finding; the community worker answers on a 390 px phone with a photo;
the operator re-checks on video and closes the order; the score card shows the deduction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.models import Role, User
from shouwang.core.services.staff import create_staff
from shouwang.patrol.models import OrderStatus, RectificationOrder
from shouwang.patrol.services import rounds
from shouwang.patrol.services.setup import CameraData, add_camera, add_checkpoint
from tests.browser.conftest import logged_in
from tests.conftest import PASSWORD, Town
from tests.patrol.camera_server import PASSWORD as CAMERA_PASSWORD
from tests.patrol.camera_server import USER, CameraServer, camera_server, gate_jpeg

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def cameras() -> Iterator[CameraServer]:
    with camera_server() as server:
        yield server


def _too_wide(page: Page) -> int:
    extra: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return extra


def test_a_round_a_finding_an_answer_a_recheck_and_the_score(
    town: Town, page: Page, live_server: LiveServer, cameras: CameraServer, tmp_path: Any
) -> None:
    operator = create_staff(None, "ops", PASSWORD, Role.PATROL_OPERATOR, [town.street], "城运")
    for area, name in ((town.east_compound, "东门"), (town.west_compound, "南门")):
        gate = add_checkpoint(None, area, name)
        add_camera(
            None,
            gate,
            CameraData(
                name=f"{name}枪机",
                snapshot_url=cameras.url("/ISAPI/Streaming/channels/101/picture"),
                username=USER,
                password=CAMERA_PASSWORD,
                live_url="http://127.0.0.1:1984/stream.html",
            ),
        )
    rounds.ensure_plan(operator, town.street, [["00:00", "23:59"]])

    page.set_viewport_size(DESKTOP)
    logged_in(page, live_server, operator, PASSWORD)
    page.goto(f"{live_server.url}/patrol/rounds/")
    page.get_by_test_id("start-round").first.click()
    expect(page.get_by_test_id("coverage")).to_contain_text("0")
    expect(page.get_by_test_id("stop-name")).to_contain_text("东门")
    expect(page.get_by_test_id("stop-snapshot")).to_be_visible()
    assert _too_wide(page) <= 0
    page.keyboard.press("o")  # OK
    expect(page.get_by_test_id("stop-name")).to_contain_text("南门")
    page.keyboard.press("f")  # finding
    expect(page.locator("#finding-form")).to_be_visible()
    page.keyboard.press("2")  # 门岗无人
    page.get_by_test_id("finding-note").fill("岗亭无人值守")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("round-done")).to_be_visible()
    expect(page.get_by_test_id("coverage")).to_contain_text("2")
    order = RectificationOrder.objects.get()
    assert order.community == town.west
    assert order.finding.category == "unmanned"

    worker = page.context.browser.new_context(locale="zh-CN", base_url=live_server.url)  # type: ignore[union-attr]
    phone = worker.new_page()
    phone.set_viewport_size(PHONE)
    logged_in(phone, live_server, town.west_worker, PASSWORD)
    phone.goto(f"{live_server.url}/patrol/orders/")
    phone.get_by_test_id("order").get_by_role("link").click()
    expect(phone.get_by_test_id("evidence")).to_be_visible()
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(gate_jpeg("fixed"))
    phone.locator('textarea[name="note"]').fill("已安排专人值守")
    phone.locator('input[name="photo"]').set_input_files(str(photo))
    assert _too_wide(phone) <= 0
    phone.get_by_test_id("answer").click()
    expect(phone.get_by_test_id("answer-photo")).to_be_visible()
    worker.close()

    page.goto(f"{live_server.url}/patrol/orders/{order.pk}/")
    page.get_by_test_id("recheck-fetch").click()
    expect(page.get_by_test_id("recheck")).to_be_visible()
    expect(page.get_by_test_id("evidence")).to_be_visible()
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已销号")
    assert RectificationOrder.objects.get().status == OrderStatus.CLOSED

    page.goto(f"{live_server.url}/patrol/scores/")
    rows = page.get_by_test_id("score-row")
    expect(rows.filter(has_text="东风社区").get_by_test_id("score")).to_have_text("100")
    # 门岗无人 (5 points) × minor (1).
    expect(rows.filter(has_text="向阳社区").get_by_test_id("score")).to_have_text("95")
    assert _too_wide(page) <= 0
    assert User.objects.filter(username="ops").exists()
