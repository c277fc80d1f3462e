"""The alert screens and the alert API: who sees what, the actions through the pages, the call
button's audit entry, expected door openings, and fixed query counts for the lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shouwang.alerts.models import (
    Alert,
    AlertStatus,
    Severity,
    SuppressionWindow,
)
from shouwang.alerts.services import alerting, suppression
from shouwang.alerts.services.alerting import Trigger
from shouwang.core.models import AreaKind, AuditLog, Household
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import create_household
from shouwang.quarantine.models import Watch
from tests.alerts.conftest import T0, Door
from tests.conftest import Town, login


@pytest.fixture
def alert(quarantine: Watch, door: Door) -> Alert:
    door("open", T0)
    return Alert.objects.get()


def raise_at(town: Town, household: Household, minutes: int = 0, **fields: Any) -> Alert:
    defaults: dict[str, Any] = {
        "kind": "quarantine_door_open",
        "subject": f"household:{household.pk}",
        "at": T0 + timedelta(minutes=minutes),
        "title": f"{household.area.name}{household.door}",
        "area": household.area,
        "severity": Severity.CRITICAL,
        "household": household,
    }
    return alerting.raise_alert(Trigger(**(defaults | fields)))


@pytest.fixture
def west_alert(town: Town) -> Alert:
    return raise_at(town, town.west_home)


def as_json(client: Client, method: str, url: str, data: Any = None) -> Any:
    if method == "post":
        return client.post(url, data or {}, headers={"Accept": "application/json"})
    return client.get(url, headers={"Accept": "application/json"})


# --- Who sees what ----------------------------------------------------------------------------

PAGES: list[Callable[[Alert], str]] = [
    lambda a: "/alerts/",
    lambda a: "/alerts/board/",
    lambda a: "/alerts/stats/",
    lambda a: f"/alerts/{a.pk}/",
    lambda a: f"/alerts/households/{a.household_id}/expected-opening/",
    lambda a: "/api/v1/alerts",
    lambda a: f"/api/v1/alerts/{a.pk}",
]
PAGE_IDS = ["console", "board", "stats", "detail", "expected-opening", "api-list", "api-detail"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("east_worker", 200),
        ("town_operator", 200),
        ("admin", 200),
        ("west_worker", 404),  # the alert's own pages; the lists answer 200 without it
        ("gate_guard", 403),
    ],
)
@pytest.mark.parametrize("url_for", PAGES, ids=PAGE_IDS)
def test_pages_per_role(
    town: Town, alert: Alert, role: str, status: int, url_for: Callable[[Alert], str]
) -> None:
    url = url_for(alert)
    response = login(getattr(town, role)).get(url)
    own_pages = url_for in (PAGES[3], PAGES[4], PAGES[6])
    expected = 200 if role == "west_worker" and not own_pages else status
    assert response.status_code == expected, url
    if expected == 200:
        assert "no-store" in response["Cache-Control"]


def test_pages_need_a_login(alert: Alert) -> None:
    for url in ("/alerts/", "/alerts/board/", "/alerts/stats/", f"/alerts/{alert.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert Client().get("/api/v1/alerts").status_code == 401


def test_nav_link_for_those_who_may_see_alerts(town: Town) -> None:
    assert 'href="/alerts/"' in login(town.east_worker).get("/").content.decode()
    assert 'href="/alerts/"' not in login(town.gate_guard).get("/").content.decode()


def test_console_lists_own_areas_not_yet_acknowledged_and_most_severe_first(
    town: Town, alert: Alert, west_alert: Alert
) -> None:
    other = create_household(None, town.east_unit, "502")
    info = raise_at(
        town, other, minutes=30, kind="battery_low", subject="device:99", severity=Severity.INFO
    )
    later = create_household(None, town.east_unit, "503")
    acknowledged = raise_at(town, later, minutes=40)
    alerting.acknowledge(town.east_worker, acknowledged)
    resolved = raise_at(town, create_household(None, town.east_unit, "504"), minutes=50)
    alerting.resolve(town.east_worker, resolved, "false_alarm")

    page = login(town.east_worker).get("/alerts/")
    ids = [c["id"] for c in page.context["cards"]]
    # Open before acknowledged; critical before info; resolved and west's not shown.
    assert ids == [alert.pk, info.pk, acknowledged.pk]
    html = page.content.decode()
    assert "东风花园 3号楼 2单元501" in html or alert.title in html
    assert west_alert.title not in html
    assert 'id="alert-card-template"' in html
    assert 'data-testid="acknowledge"' in html
    assert 'data-testid="call"' in html


def test_console_config_carries_the_labels(town: Town, alert: Alert) -> None:
    html = login(town.east_worker).get("/alerts/").content.decode()
    start = html.index('<script id="alert-config" type="application/json">') + len(
        '<script id="alert-config" type="application/json">'
    )
    config = json.loads(html[start : html.index("</script>", start)])
    assert config["stream"] == "/alerts/stream"
    assert config["kinds"]["quarantine_door_open"] == "居家隔离期间开门"
    assert config["statuses"]["open"]
    assert config["severities"]["30"]


# --- Actions through the pages ----------------------------------------------------------------


def test_acknowledge_and_resolve_from_the_console(town: Town, alert: Alert) -> None:
    client = login(town.east_worker)
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "/alerts/"})
    assert response.status_code == 302
    assert response["Location"] == "/alerts/"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, town.east_worker)

    response = client.post(
        f"/alerts/{alert.pk}/resolve/", {"outcome": "garbage", "note": "倒垃圾，已提醒"}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.outcome, alert.note) == ("resolved", "garbage", "倒垃圾，已提醒")
    assert alert not in client.get("/alerts/").context["cards"]
    assert [e.kind for e in alert.entries.all()] == ["opened", "acknowledged", "resolved"]


def test_actions_answer_json_to_the_console_script(town: Town, alert: Alert) -> None:
    client = login(town.east_worker)
    response = as_json(client, "post", f"/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["alert"]["status"] == "acknowledged"
    response = as_json(client, "post", f"/alerts/{alert.pk}/resolve/", {"outcome": ""})
    assert response.status_code == 422
    assert response.json()["errors"]
    response = as_json(client, "post", f"/alerts/{alert.pk}/resolve/", {"outcome": "cleared"})
    assert response.status_code == 422  # the system's outcome, not a person's
    response = as_json(client, "post", f"/alerts/{alert.pk}/resolve/", {"outcome": "delivery"})
    assert response.json()["alert"]["status"] == "resolved"
    response = as_json(client, "post", f"/alerts/{alert.pk}/resolve/", {"outcome": "delivery"})
    assert response.status_code == 422  # already resolved


def test_comment_and_assign_on_the_alert_page(town: Town, alert: Alert) -> None:
    colleague = town.town_operator
    client = login(town.east_worker)
    page = client.get(f"/alerts/{alert.pk}/")
    choices = [c[0] for c in page.context["assign_form"].fields["assignee"].choices]
    assert town.east_worker.pk in choices
    assert colleague.pk in choices
    assert town.west_worker.pk not in choices  # does not cover this area

    client.post(f"/alerts/{alert.pk}/comment/", {"text": "已电话联系"})
    client.post(f"/alerts/{alert.pk}/assign/", {"assignee": colleague.pk})
    refused = client.post(f"/alerts/{alert.pk}/assign/", {"assignee": town.west_worker.pk})
    assert refused.status_code == 302
    alert.refresh_from_db()
    assert alert.assignee == colleague
    page = client.get(f"/alerts/{alert.pk}/")
    assert [e.kind for e in page.context["entries"]] == ["opened", "commented", "assigned"]
    html = page.content.decode()
    assert "已电话联系" in html
    assert 'data-testid="timeline"' in html


def test_call_button_reveals_the_phone_through_an_audited_action(town: Town, alert: Alert) -> None:
    client = login(town.east_worker)
    response = as_json(client, "post", f"/alerts/{alert.pk}/call/")
    assert response.status_code == 200
    assert response.json()["tel"] == "13812345678"
    entry = AuditLog.objects.get(action="person.reveal")
    assert (entry.actor, entry.target_id, entry.details["field"]) == (
        town.east_worker,
        str(town.east_person.pk),
        "phone",
    )
    # Without the script: a page with the tel: link, audited as well.
    page = client.post(f"/alerts/{alert.pk}/call/")
    assert 'href="tel:13812345678"' in page.content.decode()
    assert AuditLog.objects.filter(action="person.reveal").count() == 2
    # The number never appears on the console or the alert page themselves.
    assert "13812345678" not in client.get("/alerts/").content.decode()
    assert "13812345678" not in client.get(f"/alerts/{alert.pk}/").content.decode()


def test_call_refused_out_of_area_and_to_other_households(
    town: Town, alert: Alert, west_alert: Alert
) -> None:
    assert login(town.west_worker).post(f"/alerts/{alert.pk}/call/").status_code == 404
    assert login(town.gate_guard).post(f"/alerts/{alert.pk}/call/").status_code == 403
    # A person of another household cannot be called through this alert.
    client = login(town.town_operator)
    response = client.post(f"/alerts/{alert.pk}/call/", {"person": town.west_person.pk})
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="person.reveal").exists()


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "comment", "assign", "call"])
def test_actions_out_of_area_are_not_found(town: Town, alert: Alert, action: str) -> None:
    response = login(town.west_worker).post(
        f"/alerts/{alert.pk}/{action}/",
        {"outcome": "garbage", "text": "x", "assignee": town.west_worker.pk},
    )
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.entries.count() == 1


def test_actions_need_post(town: Town, alert: Alert) -> None:
    assert login(town.east_worker).get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405


# --- The board and the measures ---------------------------------------------------------------


def test_board_filters(town: Town, alert: Alert, west_alert: Alert) -> None:
    client = login(town.town_operator)
    alerting.resolve(town.town_operator, west_alert, "false_alarm")

    def ids(query: str) -> list[int]:
        return [row[0].pk for row in client.get(f"/alerts/board/?{query}").context["rows"]]

    assert ids("") == [alert.pk]  # by default: not resolved
    assert sorted(ids("status=all")) == sorted([alert.pk, west_alert.pk])
    assert ids("status=resolved") == [west_alert.pk]
    assert ids(f"status=all&community={town.west.pk}") == [west_alert.pk]
    assert ids("status=all&kind=battery_low") == []
    assert ids("status=all&severity=30") != []
    assert ids("status=all&severity=10") == []
    day = timezone.localtime(T0).date()
    assert len(ids(f"status=all&date_from={day}&date_to={day}")) == 2
    assert ids(f"status=all&date_from={day + timedelta(days=1)}") == []
    rows = client.get("/alerts/board/?status=all&partial=1")
    html = rows.content.decode()
    assert "<html" not in html
    assert 'data-testid="board-row"' in html
    assert "东风社区" in html
    assert "向阳社区" in html
    # A community out of the user's areas is 404, as its own page would be (issue 14).
    east = login(town.east_worker).get(f"/alerts/board/?status=all&community={town.west.pk}")
    assert east.status_code == 404


def test_stats_page_shows_measures(town: Town, alert: Alert) -> None:
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        alerting.acknowledge(town.east_worker, alert)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        alerting.resolve(town.east_worker, alert, "garbage")
    day = timezone.localtime(T0).date()
    page = login(town.town_operator).get(f"/alerts/stats/?date_from={day}&date_to={day}")
    measures = page.context["m"]
    assert measures.total == 1
    html = page.content.decode()
    assert "东风社区" in html
    assert "2:00" in html
    assert "10:00" in html
    assert str(town.east_worker) in html


# --- Expected door openings -------------------------------------------------------------------


def _window_form(start: Any, minutes: int = 30, reason: str = "garbage", note: str = "") -> dict:
    fmt = "%Y-%m-%dT%H:%M"
    local = timezone.localtime(start)
    return {
        "reason": reason,
        "note": note,
        "starts_at": local.strftime(fmt),
        "ends_at": (local + timedelta(minutes=minutes)).strftime(fmt),
    }


@time_machine.travel(T0 + timedelta(hours=1), tick=False)
def test_expected_door_opening_from_the_alert_page_silences_the_door(
    town: Town, alert: Alert, door: Door
) -> None:
    client = login(town.east_worker)
    detail = client.get(f"/alerts/{alert.pk}/").content.decode()
    url = f"/alerts/households/{town.east_home.pk}/expected-opening/"
    assert f'href="{url}?alert={alert.pk}"' in detail
    alerting.resolve(town.east_worker, alert, "garbage")
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=5)
    response = client.post(url, {**_window_form(start, 20), "alert": alert.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/alerts/{alert.pk}/"
    window = SuppressionWindow.objects.get()
    assert (window.reason, window.created_by) == ("garbage", town.east_worker)
    assert (window.ends_at - window.starts_at) == timedelta(minutes=20)
    log = AuditLog.objects.get(action="alert.suppress")
    assert log.details["reason"] == "garbage"
    page = client.get(url).content.decode()
    assert suppression.describe("garbage") in page

    door("closed", start + timedelta(minutes=1))
    door("open", start + timedelta(minutes=2))  # inside the window: recorded, no alert
    assert Alert.objects.exclude(status="resolved").count() == 0
    door("closed", start + timedelta(minutes=3))
    door("open", start + timedelta(minutes=25))  # after it
    assert Alert.objects.exclude(status="resolved").count() == 1


def test_expected_door_opening_is_validated_and_scoped(town: Town, alert: Alert) -> None:
    client = login(town.east_worker)
    url = f"/alerts/households/{town.east_home.pk}/expected-opening/"
    now = timezone.now()
    backwards = client.post(url, _window_form(now, -10))
    assert backwards.status_code == 422
    assert 'data-testid="ends-error"' in backwards.content.decode()
    too_long = client.post(url, _window_form(now, 60 * 13))
    assert too_long.status_code == 422
    other = client.post(url, _window_form(now, 10, reason="other"))
    assert other.status_code == 422  # "other" needs words
    assert client.post(url, _window_form(now, 10, "other", "送药上门")).status_code == 302
    assert suppression.describe(SuppressionWindow.objects.get().reason) == "其他：送药上门"
    assert login(town.west_worker).post(url, _window_form(now, 10)).status_code == 404
    assert login(town.gate_guard).get(url).status_code == 403


# --- The API ----------------------------------------------------------------------------------


def test_api_list_detail_and_actions(town: Town, alert: Alert, west_alert: Alert) -> None:
    client = login(town.east_worker)
    listed = client.get("/api/v1/alerts").json()
    assert [a["id"] for a in listed["items"]] == [alert.pk]
    assert listed["items"][0]["community"] == "东风社区"
    assert listed["items"][0]["kind_label"] == "居家隔离期间开门"
    assert client.get(f"/api/v1/alerts/{west_alert.pk}").status_code == 404
    assert client.post(f"/api/v1/alerts/{west_alert.pk}/acknowledge").status_code == 404

    acked = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == str(town.east_worker)
    commented = client.post(
        f"/api/v1/alerts/{alert.pk}/comment",
        json.dumps({"text": "已上门查看"}),
        content_type="application/json",
    )
    assert commented.status_code == 201
    assert commented.json()["text"] == "已上门查看"
    bad = client.post(
        f"/api/v1/alerts/{alert.pk}/resolve",
        json.dumps({"outcome": "nonsense"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    resolved = client.post(
        f"/api/v1/alerts/{alert.pk}/resolve",
        json.dumps({"outcome": "delivery", "note": "取外卖"}),
        content_type="application/json",
    )
    assert resolved.json()["outcome_label"] == "取快递或外卖"
    detail = client.get(f"/api/v1/alerts/{alert.pk}").json()
    assert [e["kind"] for e in detail["entries"]] == [
        "opened",
        "acknowledged",
        "commented",
        "resolved",
    ]
    assert client.get("/api/v1/alerts?status=active").json()["items"] == []
    assert len(client.get("/api/v1/alerts?status=resolved").json()["items"]) == 1
    assert login(town.town_operator).get(f"/api/v1/alerts?area={town.west.pk}").json()["count"] == 1
    assert client.get(f"/api/v1/alerts?area={town.west.pk}").status_code == 404


def test_api_actions_need_the_csrf_token(town: Town, alert: Alert) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(town.east_worker)
    assert client.post(f"/api/v1/alerts/{alert.pk}/acknowledge").status_code == 403
    client.get("/alerts/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge", headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_page_actions_need_the_csrf_token(town: Town, alert: Alert) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(town.east_worker)
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    assert client.post(f"/alerts/{alert.pk}/call/").status_code == 403
    assert not AuditLog.objects.filter(action="person.reveal").exists()


# --- Query counts -----------------------------------------------------------------------------


def _grow(town: Town, n: int) -> None:
    compound = create_area(None, town.east, f"{n}号院", AreaKind.COMPOUND)
    for i in range(n):
        home = create_household(None, compound, f"{i + 100}")
        alert = raise_at(town, home, minutes=i)
        if i % 3 == 0:
            alerting.acknowledge(town.east_worker, alert)
        if i % 4 == 0:
            alerting.assign(town.east_worker, alert, town.town_operator)
        if i % 5 == 0:
            alerting.resolve(town.east_worker, alert, "garbage")


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


LIST_URLS = [
    "/alerts/",
    "/alerts/board/",
    "/alerts/board/?status=all",
    "/alerts/board/?status=all&partial=1",
    "/alerts/stats/",
    "/api/v1/alerts",
]


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_queries_do_not_grow_with_rows(town: Town, alert: Alert, url: str) -> None:
    client = login(town.town_operator)
    _count(client, url)  # warm caches (content types, session)
    small = _count(client, url)
    _grow(town, 12)
    large = _count(client, url)
    assert large == small, f"{url}: {small} queries with few rows, {large} with more"
    assert small <= 10


def test_stats_over_a_period_count_the_queries_once(town: Town, alert: Alert) -> None:
    _grow(town, 6)
    with CaptureQueriesContext(connection) as queries:
        from shouwang.alerts.stats import daily_summary

        summary = daily_summary(timezone.localtime(T0).date(), town.east)
    assert summary["opened"] == 7
    assert len(queries) <= 4
