"""The gate with a real browser: the resident's page shows a code; the guard's page, fed as a
keyboard-wedge scanner feeds it (characters, then Enter), answers green for it and red with
the reason for a revoked pass, and green for the resident's changing (dynamic) code; with the
server stopped it still verifies a valid code in the browser (WebCrypto Ed25519), refuses a
forged one, queues the scans, and uploads them when the server is back.

Serving: uvicorn in a thread of the test process (as tests/browser/test_alerts.py does), so it
can be stopped and started again on the same port: the page's origin, and with it the keys and
lists it keeps in localStorage, stay the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, Response, expect

from shouwang.core.services.people import PersonData, create_person
from shouwang.passes.models import Scan
from shouwang.passes.services import issue
from shouwang.passes.services.visitors import approve_visit, register_visitor
from shouwang.quarantine.models import Source
from shouwang.quarantine.services.cases import CaseData, start_case
from tests.browser.conftest import ThreadedServer, logged_in, zh
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"phone": PHONE, "desktop": {"width": 1440, "height": 900}}


@pytest.fixture
def served(town: Town, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedServer]:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    server = ThreadedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gate_page(browser: Browser, served: ThreadedServer) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", base_url=served.url)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            served.errors.append(f"{response.status} {response.request.method} {response.url}")

    context.on("response", on_response)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    yield page
    context.close()
    assert not served.errors, f"the server answered with errors: {served.errors}"


def scan(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the characters fast, then Enter."""
    page.get_by_test_id("scan-input").focus()
    page.keyboard.type(code, delay=2)
    page.keyboard.press("Enter")


def lists_fetched(page: Page) -> None:
    """The gate page has fetched its keys and lists (and says when)."""
    expect(page.get_by_test_id("freshness")).to_have_attribute(
        "data-fetched-at", re.compile(r"\d+")
    )


def test_resident_code_at_the_gate_online_and_offline(
    town: Town, served: ThreadedServer, gate_page: Page
) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    neighbour = create_person(None, town.east_home, PersonData.clean("王五", "", ""))
    moved_out = issue.issue_pass(town.east_worker, neighbour).pass_obj

    # The resident opens their personal link: a large code, their masked name, the compound.
    page = gate_page
    page.goto(f"/p/{issued.link_token}/")
    expect(page.get_by_test_id("holder")).to_have_text("张*明")
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    code = page.get_by_test_id("qr").get_attribute("data-code")
    assert code
    assert code.startswith("SW1:")

    # The guard opens the gate page from the menu; it fetches keys and lists.
    logged_in(page, served, town.gate_guard, PASSWORD)  # type: ignore[arg-type]
    page.locator("nav.main-nav").get_by_role("link", name=zh("Gate"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/gate/$"))
    lists_fetched(page)

    scan(page, code)
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_have_class(re.compile(r"\ballowed\b"))
    expect(verdict).to_have_attribute("data-offline", "false")
    expect(page.get_by_test_id("verdict-name")).to_have_text("张*明")
    expect(page.get_by_test_id("verdict-reason")).to_have_text(zh("Valid pass"))

    # A pass revoked after the page's sync: the server knows, the answer is red, with why.
    issue.revoke(town.east_worker, moved_out, "搬离")
    page.get_by_test_id("verdict").click()  # the guard taps it away
    scan(page, moved_out.code)
    expect(verdict).to_have_class(re.compile(r"\bdenied\b"))
    expect(page.get_by_test_id("verdict-reason")).to_have_text(zh("Pass revoked"))
    expect(page.get_by_test_id("verdict-name")).to_have_text("王*")
    assert Scan.objects.filter(offline=False).count() == 2

    # The resident switches to the changing code (against screenshots): it is checked online.
    page.goto(f"/p/{issued.link_token}/?mode=dynamic")
    qr = page.get_by_test_id("qr")
    expect(qr).to_have_attribute("data-code", re.compile(r"^SWD:"))
    dynamic = qr.get_attribute("data-code")
    assert dynamic
    page.goto("/gate/")
    lists_fetched(page)
    scan(page, dynamic)
    expect(verdict).to_have_class(re.compile(r"\ballowed\b"))
    expect(page.get_by_test_id("verdict-name")).to_have_text("张*明")
    assert Scan.objects.filter(offline=False).count() == 3

    # The server goes away. The page verifies the signature itself and queues the scan.
    served.stop()
    page.get_by_test_id("verdict").click()
    scan(page, code)
    expect(verdict).to_have_attribute("data-offline", "true")
    expect(verdict).to_have_class(re.compile(r"\ballowed\b"))
    expect(page.get_by_test_id("verdict-name")).to_have_text("张*明")
    expect(page.get_by_test_id("queue")).to_have_attribute("data-count", "1")
    # A forged code is refused offline too: one character of the signature changed.
    page.get_by_test_id("verdict").click()
    scan(page, code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:])
    expect(verdict).to_have_class(re.compile(r"\bdenied\b"))
    expect(verdict).to_have_attribute("data-reason", re.compile(r"^(forged|malformed)$"))
    expect(page.get_by_test_id("queue")).to_have_attribute("data-count", "2")
    assert Scan.objects.count() == 3

    # The server is back: the queue goes up once, and the log has the offline scans.
    served.start()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.get_by_test_id("queue")).to_have_attribute("data-count", "0")
    offline = Scan.objects.filter(offline=True).order_by("at")
    assert next((s.allowed, s.person_id) for s in offline) == (True, town.east_person.pk)
    assert offline.count() == 2
    assert offline[0].guard == town.gate_guard


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_an_offline_gate_shows_who_approved_a_visit_to_a_quarantined_home(
    town: Town, served: ThreadedServer, gate_page: Page, viewport: str
) -> None:
    start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.CLOSE_CONTACT, no_device_reason="待安装"),
    )
    registered = register_visitor(
        town.gate_guard,
        name="钱七",
        phone="13700001111",
        household=town.east_home,
        reason="送药",
        pass_hours=4,
    )
    assert registered.issued is not None
    approve_visit(town.east_worker, registered.visitor, "medical", "社区医生上门采样")
    page = gate_page
    page.set_viewport_size(VIEWPORTS[viewport])  # type: ignore[arg-type]
    logged_in(page, served, town.gate_guard, PASSWORD)  # type: ignore[arg-type]
    lists_fetched(page)

    # No network: the page lets the visitor in from its lists, with the approval under it, as
    # the online gate shows it.
    served.stop()
    scan(page, registered.issued.pass_obj.code)
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_have_attribute("data-offline", "true")
    expect(verdict).to_have_class(re.compile(r"\ballowed\b"))
    expect(page.get_by_test_id("verdict-reason")).to_have_text(
        zh("Visit to a household in quarantine: approved")
    )
    approval = page.get_by_test_id("verdict-approval")
    expect(approval).to_contain_text(zh("Medical staff"))
    expect(approval).to_contain_text("社区医生上门采样")
    expect(approval).to_contain_text(str(town.east_worker))
    expect(page.get_by_test_id("queue")).to_have_attribute("data-count", "1")

    served.start()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.get_by_test_id("queue")).to_have_attribute("data-count", "0")
    stored = Scan.objects.get()
    assert (stored.offline, stored.allowed, stored.reason) == (True, True, "approved_visit")
