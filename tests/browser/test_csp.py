"""Every screen under the Content-Security-Policy, in a real Chromium: not one violation.

The policy (shouwang.core.middleware) allows scripts and styles only from the app's own files
(inline styles on Django admin's and Swagger UI's pages only). Chromium
reports each refused inline script, handler or foreign load as a `securitypolicyviolation`
event and a console message ("Refused to …"); the test collects both on every screen a worker,
a town operator, a guard and a resident open, and fails on any.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from shouwang.alerts.models import Severity
from shouwang.alerts.services.alerting import Trigger, raise_alert
from shouwang.devices.models import Device
from shouwang.devices.services.ingest import record_dead_letter
from shouwang.passes.services.issue import issue_pass
from shouwang.quarantine.models import Source
from shouwang.quarantine.services.cases import CaseData, start_case
from tests.browser.conftest import logged_in
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile
    + ":" + e.lineNumber);
});
"""


def _watch(page: Page) -> list[str]:
    refused: list[str] = []
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused


def _visit(page: Page, live_server: LiveServer, paths: list[str], refused: list[str]) -> None:
    for path in paths:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status < 400, (path, response.status)
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'")
        # Inline styles only where Django admin and Swagger UI need them (docs/security.md).
        if not path.startswith(("/admin/", "/api/v1/docs")):
            assert "style-src 'self';" in policy, (path, policy)
            assert "unsafe-inline" not in policy, (path, policy)
        page.wait_for_load_state("load")
        seen: Any = page.evaluate("window.__csp")
        refused.extend(f"{path}: {v}" for v in seen)
    assert not refused, refused


def test_no_screen_violates_the_policy(page: Page, live_server: LiveServer, town: Town) -> None:
    alert = raise_alert(
        Trigger(
            kind="door_open",
            subject=f"household:{town.east_home.pk}",
            at=datetime(2026, 3, 2, 2, tzinfo=UTC),
            title="东风花园 3号楼 2单元 501",
            area=town.east_home.area,
            severity=Severity.CRITICAL,
            household=town.east_home,
        )
    )
    case = start_case(
        None,
        town.east_home,
        CaseData(people=[town.east_person], source=Source.CLOSE_CONTACT, no_device_reason="缺货"),
    )
    issued = issue_pass(None, town.east_person)
    device = Device.objects.create(adapter="generic", key="gw1/door", area=town.east_compound)
    letter = record_dead_letter("generic", "mqtt", "not JSON", b"{\x00", topic="x/gw1/door")
    refused = _watch(page)
    logged_in(page, live_server, town.east_worker, PASSWORD)
    _visit(
        page,
        live_server,
        [
            "/",
            "/areas/",
            f"/areas/{town.east.pk}/",
            "/households/",
            f"/households/{town.east_home.pk}/",
            "/people/",
            f"/people/{town.east_person.pk}/",
            "/people/import/",
            "/devices/",
            f"/devices/{device.pk}/",
            "/devices/install/",
            "/devices/recover/",
            "/devices/unclaimed/",
            "/alerts/",
            f"/alerts/{alert.pk}/",
            "/alerts/board/",
            "/alerts/stats/",
            "/quarantine/",
            "/quarantine/cases/",
            "/quarantine/cases/new/",
            f"/quarantine/cases/{case.pk}/",
            f"/quarantine/cases/{case.pk}/notice/",
            "/quarantine/stats/",
            "/care/",
            "/passes/",
            "/passes/bulk/",
            f"/passes/{issued.pass_obj.pk}/",
        ],
        refused,
    )
    page.get_by_test_id("logout").click()
    logged_in(page, live_server, town.gate_guard, PASSWORD)
    _visit(page, live_server, ["/gate/", "/gate/log/", "/gate/visitors/"], refused)
    page.get_by_test_id("logout").click()
    _visit(
        page,
        live_server,
        ["/login/", f"/p/{issued.link_token}/", f"/p/{issued.link_token}/?mode=dynamic"],
        refused,
    )
    logged_in(page, live_server, town.admin, PASSWORD)
    _visit(
        page,
        live_server,
        [
            "/devices/dead-letters/",
            f"/devices/dead-letters/{letter.pk}/",
            "/devices/health/",
            "/admin/",
            "/api/v1/docs",
        ],
        refused,
    )


def test_pages_may_not_be_framed(page: Page, live_server: LiveServer, town: Town) -> None:
    response = page.goto(live_server.url + "/login/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
