"""The staff's screens in Chromium: the guard's home is the gate; a pass prints as an A6
card; and no page a person uses is wider than a 390 px phone (each role walks its pages as
tests/pages/walk.py finds them), while the town's alert board fills a 1440 px desktop."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.demo import DEMO_PASSWORD
from shouwang.passes.models import Pass
from shouwang.passes.services import issue
from tests.browser.conftest import logged_in
from tests.conftest import PASSWORD, Town
from tests.pages.walk import ROLES, resident_urls, seed_walk_town, walk

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def test_the_guards_home_is_the_gate(town: Town, page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill(town.gate_guard.get_username())
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/gate/$"))
    expect(page.get_by_test_id("scan-input")).to_be_visible()
    expect(page.get_by_test_id("compound")).to_contain_text("东风花园")


def test_a_pass_prints_as_one_a6_card(town: Town, page: Page, live_server: LiveServer) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.goto(f"{live_server.url}/passes/{issued.pk}/")
    page.get_by_test_id("print-pass").click()
    card = page.get_by_test_id("pass-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("card-name")).to_have_text("张*明")
    expect(card.get_by_test_id("card-address")).to_contain_text("东风花园")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    # On paper the card is A6: 105 mm wide (96 px per inch).
    width = card.evaluate("e => e.getBoundingClientRect().width")
    assert abs(width - 105 / 25.4 * 96) < 2
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page\r") + pdf.count(b"/Type/Page") >= 1
    assert Pass.objects.get().status == "active"


def _too_wide(page: Page) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return width


def test_no_page_is_wider_than_a_phone(
    page: Page, live_server: LiveServer, settings: Any, tmp_path: Any
) -> None:
    settings.VAR_DIR = tmp_path
    seed_walk_town()
    urls: dict[str, list[str]] = {}
    for role in ROLES:
        seen_kinds: set[str] = set()
        urls[role] = []
        for seen in walk(role):
            if (
                seen.status != 200
                or not seen.html
                or not seen.url.startswith("/")
                or seen.url.startswith("/admin/")
            ):
                continue
            kind = re.sub(r"\d+", "N", seen.url.split("?")[0])
            if kind not in seen_kinds:
                seen_kinds.add(kind)
                urls[role].append(seen.url)
    residents = resident_urls()
    page.set_viewport_size(PHONE)
    wide: list[str] = []
    for url in residents:
        page.goto(f"{live_server.url}{url}")
        if _too_wide(page) > 0:
            wide.append(f"resident {url}: {_too_wide(page)} px too wide")
    for role, found in urls.items():
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill(role)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_test_id("logout")).to_be_visible()
        for url in found:
            if url == "/alerts/board/":
                continue  # the board is for a desktop screen: below
            page.goto(f"{live_server.url}{url}")
            extra = _too_wide(page)
            if extra > 0:
                wide.append(f"{role} {url}: {extra} px too wide")
    assert sum(len(u) for u in urls.values()) > 60
    assert wide == []

    # The town's alert board uses the width of a desktop screen.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/alerts/board/")
    used = page.locator("main").evaluate("e => e.getBoundingClientRect().width")
    assert used > 1300
    assert _too_wide(page) <= 0
