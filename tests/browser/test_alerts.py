"""A worker's alert console on a phone, live: a door opens in a quarantined household and the
alert appears on the console that is already open, without a reload; the worker acknowledges
and resolves it, and it leaves the list. The town's board, open at the same time, follows.

Serving: pytest-django's `live_server` is a threaded WSGI server, which would consume the
endless SSE body synchronously and never send it. So these tests serve the ASGI application
with uvicorn, in a thread of the test process, on a free port of 127.0.0.1:
- the data the test creates is committed (`transactional_db`, as for every browser test), and
  uvicorn's request threads open their own database connections to the same test database
  (SQLite: the shared-cache in-memory database the suite runs on; PostgreSQL: the test database,
  with CONN_MAX_AGE 0 so that no request thread keeps a connection after the test);
- with PostgreSQL the live bus listens with LISTEN/NOTIFY on uvicorn's loop, and stops with it;
- the server is stopped (and its thread joined) before the test database is flushed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from playwright.sync_api import Browser, Page, Response, expect

from shouwang.alerts import bus
from shouwang.alerts.models import Alert, AlertStatus
from shouwang.devices.services.keys import create_ingest_key
from shouwang.devices.services.lifecycle import install_device, register_device
from shouwang.quarantine.models import Watch, WatchKind
from tests.browser.conftest import ThreadedServer, logged_in, zh
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ADDRESS = "东风花园 3号楼 2单元501"


def status(label: str) -> str:
    """An alert status as the Chinese screens name it ("Open" alone is a door's state)."""
    with translation.override("zh-hans"):
        return translation.pgettext("alert status", label)


@dataclass
class Served:
    url: str


@pytest.fixture
def asgi_server(
    town: Town, monkeypatch: pytest.MonkeyPatch, django_db_serialized_rollback: None
) -> Iterator[Served]:

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    monkeypatch.setattr(bus, "LINGER_SECONDS", 0.0)
    server = ThreadedServer()
    server.start()
    yield Served(server.url)
    server.stop()


def _new_page(browser: Browser, served: Served, errors: list[str]) -> Page:
    context = browser.new_context(locale="zh-CN", base_url=served.url)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            errors.append(f"{response.status} {response.request.method} {response.url}")

    context.on("response", on_response)
    return context.new_page()


@pytest.fixture
def pages(browser: Browser, asgi_server: Served) -> Iterator[list[Page]]:
    """Up to two pages (two people); closed before the server stops."""
    errors: list[str] = []
    opened = [_new_page(browser, asgi_server, errors) for _ in range(2)]
    yield opened
    for page in opened:
        page.context.close()
    assert not errors, f"the server answered with errors: {errors}"


def _quarantined_household_with_a_sensor(town: Town) -> None:
    device = register_device(None, "generic", "door-501", town.east, model="MCCGQ11LM")
    install_device(None, device, town.east_home)
    now = timezone.now()
    Watch.objects.create(
        kind=WatchKind.QUARANTINE,
        household=town.east_home,
        person=town.east_person,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=13),
    )


def test_door_opening_appears_on_the_open_console_and_is_handled_there(
    town: Town, asgi_server: Served, pages: list[Page]
) -> None:
    _quarantined_household_with_a_sensor(town)
    _key, secret = create_ingest_key(None, "东风网关", "generic", area=town.east)
    worker, operator = pages

    # The town operator keeps the board open on a desktop.
    logged_in(operator, asgi_server, town.town_operator, PASSWORD)  # type: ignore[arg-type]
    operator.goto("/alerts/board/")
    expect(operator.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    expect(operator.get_by_test_id("board-row")).to_have_count(0)

    # The worker opens the console on a phone, from the menu.
    worker.set_viewport_size(PHONE)
    logged_in(worker, asgi_server, town.east_worker, PASSWORD)  # type: ignore[arg-type]
    worker.locator("nav.main-nav").get_by_role("link", name=zh("Alerts"), exact=True).click()
    expect(worker).to_have_url(re.compile(r"/alerts/$"))
    expect(worker.get_by_role("heading", level=1)).to_contain_text(zh("Alerts"))
    expect(worker.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    expect(worker.get_by_test_id("no-alerts")).to_be_visible()
    worker.evaluate("window.stillTheSamePage = true")

    # The gateway pushes a door-open message over HTTP.
    started = time.monotonic()
    response = worker.request.post(
        "/api/v1/ingest/generic",
        data=json.dumps({"device": "door-501", "door": "open", "id": "m1"}),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert response.ok, response.text()

    card = worker.get_by_test_id("alert")
    expect(card).to_have_count(1, timeout=5000)
    seconds = time.monotonic() - started
    expect(card.get_by_test_id("alert-title")).to_have_text(ADDRESS)
    expect(card.get_by_test_id("alert-status")).to_have_text(status("Open"))
    expect(worker.get_by_test_id("alert-count")).to_have_text("1")
    expect(worker.get_by_test_id("no-alerts")).to_be_hidden()
    assert worker.evaluate("window.stillTheSamePage") is True, "the console was reloaded"
    assert int(worker.evaluate("document.body.dataset.beeps || '0'")) >= 1, "no beep"
    assert seconds < 3, f"the alert took {seconds:.2f} s to appear"
    # The board follows without a reload too.
    expect(operator.get_by_test_id("board-row")).to_have_count(1, timeout=5000)
    expect(operator.get_by_test_id("board-status")).to_have_text(status("Open"))

    # One tap to acknowledge.
    card.get_by_test_id("acknowledge").click()
    expect(card.get_by_test_id("alert-status")).to_have_text(status("Acknowledged"))
    expect(card.get_by_test_id("acknowledge")).to_be_hidden()
    expect(operator.get_by_test_id("board-status")).to_have_text(status("Acknowledged"))

    # Resolve with an outcome and a note: it leaves the open list.
    card.get_by_test_id("resolve-open").click()
    card.get_by_test_id("outcome").select_option("garbage")
    card.get_by_test_id("note").fill("倒垃圾，已提醒")
    card.get_by_test_id("resolve").click()
    expect(worker.get_by_test_id("alert")).to_have_count(0)
    expect(worker.get_by_test_id("no-alerts")).to_be_visible()
    expect(worker.get_by_test_id("alert-count")).to_have_text("0")
    expect(operator.get_by_test_id("board-row")).to_have_count(0)  # the board shows unresolved
    assert worker.evaluate("window.stillTheSamePage") is True

    alert = Alert.objects.get()
    assert (alert.status, alert.outcome, alert.note) == (
        AlertStatus.RESOLVED,
        "garbage",
        "倒垃圾，已提醒",
    )
    assert (alert.acknowledged_by, alert.resolved_by) == (town.east_worker, town.east_worker)


def test_call_button_shows_the_number_and_dials(
    town: Town, asgi_server: Served, pages: list[Page]
) -> None:
    _quarantined_household_with_a_sensor(town)
    from shouwang.alerts.models import Severity
    from shouwang.alerts.services.alerting import Trigger, raise_alert

    raise_alert(
        Trigger(
            kind="quarantine_door_open",
            subject=f"household:{town.east_home.pk}",
            at=timezone.now(),
            title=ADDRESS,
            area=town.east_unit,
            severity=Severity.CRITICAL,
            household=town.east_home,
            person=town.east_person,
        )
    )
    worker = pages[0]
    worker.set_viewport_size(PHONE)
    logged_in(worker, asgi_server, town.east_worker, PASSWORD)  # type: ignore[arg-type]
    worker.goto("/alerts/")
    card = worker.get_by_test_id("alert")
    card.get_by_test_id("call").click()
    expect(card.get_by_test_id("tel")).to_have_text("13812345678")
    expect(card.get_by_test_id("tel")).to_have_attribute("href", "tel:13812345678")
