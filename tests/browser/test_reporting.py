"""Organisations reporting in, in a browser: a contact imports 200 workers and enters the
day's declarations with the keyboard only; a member declares on a phone; a reviewer returns
and then approves an application; the district watches the rate go up without reloading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.models.staff import Role
from shouwang.core.services.staff import create_staff
from shouwang.reporting.models import Application, AppState, Declaration, Member, OrgKind
from shouwang.reporting.services import applications, declarations, organisations
from shouwang.reporting.services.declarations import Entry
from tests.browser.conftest import logged_in, zh
from tests.conftest import PASSWORD, Town
from tests.reporting.conftest import REAL_CODES
from tests.reporting.sheets import messy_xlsx, workers

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def _company(town: Town):  # type: ignore[no-untyped-def]
    org = organisations.create_organisation(
        None, OrgKind.ENTERPRISE, "守望精密制造有限公司", town.east, credit_code=REAL_CODES[1]
    )
    contact = organisations.add_contact(None, org, "acme", PASSWORD, "张会计")
    return org, contact


def test_contact_imports_200_workers_and_declares_with_the_keyboard(
    page: Page, live_server: LiveServer, town: Town, tmp_path: Path
) -> None:
    org, contact = _company(town)
    sheet = tmp_path / "员工花名册.xlsx"
    sheet.write_bytes(messy_xlsx(workers(200)))
    page.set_viewport_size(DESKTOP)
    logged_in(page, live_server, contact, PASSWORD)
    page.get_by_test_id("my-organisation").click()
    page.get_by_test_id("import-link").click()
    page.locator("input[type=file]").set_input_files(str(sheet))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-done")).to_contain_text("200")
    assert Member.objects.filter(organisation=org).count() == 200

    page.goto(f"{live_server.url}/reporting/{org.pk}/declare/")
    rows = page.get_by_test_id("grid-row")
    expect(rows).to_have_count(200)
    # The first temperature has the focus. One member has a fever today: type it, then
    # Enter; everyone else is as prefilled: one Enter each. Then Enter on the save button.
    page.keyboard.type("38.1")
    for _ in range(200):
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("grid-save")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("grid-count")).to_contain_text("200 / 200")
    today = timezone.localdate()
    assert Declaration.objects.filter(organisation=org, day=today).count() == 200
    assert Declaration.objects.filter(organisation=org, day=today, fever=True).count() == 1


def test_member_declares_on_a_phone(page: Page, live_server: LiveServer, town: Town) -> None:
    org, contact = _company(town)
    member = Member.objects.create(organisation=org, name="王伟", id_number="44030519900101123X")
    _link, token = declarations.issue_link(contact, member)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/r/{token}/")
    expect(page.get_by_role("heading", name=zh("Daily health declaration"))).to_be_visible()
    page.get_by_test_id("temperature").fill("３６．６")
    page.get_by_label(zh("Cough")).check()
    page.get_by_test_id("submit-declaration").click()
    expect(page.get_by_test_id("submitted")).to_be_visible()
    expect(page.get_by_test_id("own-declaration")).to_contain_text("36.6")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    stored = Declaration.objects.get(member=member)
    assert stored.symptoms == ["cough"]


def test_reviewer_returns_then_approves(page: Page, live_server: LiveServer, town: Town) -> None:
    org, contact = _company(town)
    reviewer = create_staff(None, "reviewer", PASSWORD, Role.REVIEWER, [town.street], "审核员")
    application = applications.submit(contact, org, "每日两次测温，错峰就餐。", 40, 30)
    page.set_viewport_size(DESKTOP)
    logged_in(page, live_server, reviewer, PASSWORD)
    page.goto(f"{live_server.url}/reporting/review/")
    page.get_by_test_id("queued").click()
    page.get_by_test_id("start-review").click()
    page.locator("input[name=reason]").fill("请补充隔离观察室照片")
    page.get_by_test_id("return").click()
    expect(page.get_by_test_id("state")).to_have_text(zh("Returned for changes"))
    applications.resubmit(contact, application, "每日两次测温，错峰就餐，设隔离观察室。", 40, 30)
    page.goto(f"{live_server.url}/reporting/review/")
    page.get_by_test_id("queued").click()
    page.get_by_test_id("start-review").click()
    page.locator("input[name=cap]").fill("25")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("state")).to_have_text(zh("Approved"))
    expect(page.get_by_test_id("cap")).to_have_text("25")
    application.refresh_from_db()
    assert application.state == AppState.APPROVED
    assert Application.objects.get().events.count() == 6


def test_the_district_sees_the_rate_go_up_live(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    org, _contact = _company(town)
    staff = [
        Member.objects.create(organisation=org, name=f"工人{i}", id_number=f"id-{i}")
        for i in range(4)
    ]
    page.set_viewport_size(DESKTOP)
    logged_in(page, live_server, town.town_operator, PASSWORD)
    page.goto(f"{live_server.url}/reporting/")
    expect(page.get_by_test_id("rate-value")).to_have_text("0%")
    declarations.declare(
        None, org, timezone.localdate(), 0, [Entry(m.pk, "36.5") for m in staff[:3]]
    )
    expect(page.get_by_test_id("rate-value")).to_have_text("75%", timeout=12_000)
    expect(page.locator(f"tr[data-org='{org.pk}'] [data-testid=missing]")).to_have_text("1")
    assert re.match(r"^\d", page.get_by_test_id("rate-reported").inner_text())
