"""From the alert to the door (上门): the compound's property office sees its door alerts (and
nothing else), sends someone up and records the arrival with what was found, all on the alert's
timeline; the measures give time to acknowledge, to call and to the door per community and per
compound, on the page, in the API and in the Excel export."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from openpyxl import load_workbook

from shouwang.alerts.models import (
    Alert,
    AlertEntry,
    AlertStatus,
    Channel,
    Delivery,
    Severity,
    Subscription,
)
from shouwang.alerts.notify import dispatch
from shouwang.alerts.services import alerting
from shouwang.alerts.services.alerting import Trigger, raise_alert
from shouwang.alerts.stats import measure
from shouwang.core.models import AuditLog, Role, User
from shouwang.core.services.staff import create_staff
from tests.alerts.conftest import T0
from tests.conftest import PASSWORD, Town, login


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def property_office(town: Town) -> User:
    return create_staff(
        None, "wuye", PASSWORD, Role.PROPERTY_OFFICE, [town.east_compound], "东风花园物业"
    )


def _alert(town: Town, kind: str = "quarantine_door_open", west: bool = False) -> Alert:
    home = town.west_home if west else town.east_home
    return raise_alert(
        Trigger(
            kind=kind,
            subject=f"household:{home.pk}" if kind != "fever" else f"person:{home.pk}",
            at=T0,
            title="门磁告警",
            area=home.area,
            severity=Severity.CRITICAL,
            household=home,
        )
    )


def test_the_property_office_sees_its_compounds_door_alerts_only(
    town: Town, property_office: User, clock: Any
) -> None:
    door = _alert(town)
    fever = _alert(town, "fever")
    elsewhere = _alert(town, west=True)
    visible = set(Alert.objects.visible_to(property_office).values_list("pk", flat=True))
    assert visible == {door.pk}
    client = login(property_office)
    assert client.get("/")["Location"] == "/alerts/"  # its home is the console
    assert client.get(f"/alerts/{door.pk}/").status_code == 200
    # Another compound's door alert and its own residents' fever: not found, not forbidden.
    assert client.get(f"/alerts/{elsewhere.pk}/").status_code == 404
    assert client.get(f"/alerts/{fever.pk}/").status_code == 404
    assert client.get(f"/api/v1/alerts/{elsewhere.pk}").status_code == 404
    assert client.post(f"/alerts/{elsewhere.pk}/dispatch/", {"sent": "王师傅"}).status_code == 404
    with pytest.raises(Http404):
        alerting.dispatch_to_door(property_office, fever, "王师傅")
    console = client.get("/alerts/").content.decode()
    assert f'data-id="{door.pk}"' in console
    assert f'data-id="{fever.pk}"' not in console
    assert f'data-id="{elsewhere.pk}"' not in console
    # No resolving and no residents' phone numbers for the property office.
    assert client.post(f"/alerts/{door.pk}/resolve/", {"outcome": "visited"}).status_code == 403
    assert client.post(f"/alerts/{door.pk}/call/").status_code == 403
    with pytest.raises(PermissionDenied):
        alerting.resolve(property_office, door, "visited")


def test_dispatch_and_arrival_go_on_the_timeline_and_are_audited(
    town: Town, property_office: User, clock: time_machine.Coordinates
) -> None:
    alert = _alert(town)
    client = login(property_office)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="to-the-door"' in page
    # No links to pages the property office may not open (a household, a device).
    assert "/households/" not in page
    assert "/devices/" not in page
    assert client.post(f"/alerts/{alert.pk}/dispatch/", {"sent": "  "}).status_code == 302
    assert Alert.objects.get(pk=alert.pk).dispatched_at is None  # refused: nobody named
    clock.shift(timedelta(minutes=2))
    client.post(f"/alerts/{alert.pk}/dispatch/", {"sent": "保安王师傅", "note": "带测温枪"})
    alert.refresh_from_db()
    assert alert.dispatched_to == "保安王师傅"
    assert alert.dispatched_at == T0 + timedelta(minutes=2)
    # Someone is on the way: the alert counts as acknowledged and stops climbing.
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == property_office
    assert alert.next_escalation_at is None
    clock.shift(timedelta(minutes=6))
    bad = client.post(
        f"/alerts/{alert.pk}/arrive/", {"outcome": "cleared"}, HTTP_ACCEPT="application/json"
    )
    assert bad.status_code == 422  # "cleared by itself" is not something found at a door
    answer = client.post(
        f"/alerts/{alert.pk}/arrive/",
        {"outcome": "delivery", "note": "取外卖，已劝回"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 200
    alert.refresh_from_db()
    assert alert.arrived_at == T0 + timedelta(minutes=8)
    assert alert.arrival_outcome == "delivery"
    assert alert.status == AlertStatus.ACKNOWLEDGED  # the worker closes it
    with pytest.raises(ValidationError):
        alerting.record_arrival(property_office, alert, "visited")  # once
    kinds = list(alert.entries.values_list("kind", "actor__username"))
    assert kinds[-2:] == [
        (AlertEntry.Kind.DISPATCHED, "wuye"),
        (AlertEntry.Kind.ARRIVED, "wuye"),
    ]
    assert {a.action for a in AuditLog.objects.filter(actor=property_office)} >= {
        "alert.dispatch",
        "alert.arrive",
    }
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "保安王师傅" in page
    assert "取外卖，已劝回" in page
    assert 'data-testid="to-the-door"' not in page  # done


def test_property_staff_are_told_of_their_door_alerts_through_the_engine(
    town: Town, property_office: User, clock: Any
) -> None:
    channel = Channel.objects.create(name="物业手机", kind="webhook", target="json://127.0.0.1:9/")
    Subscription.objects.create(channel=channel, user=property_office)
    door = _alert(town)
    fever = _alert(town, "fever")
    elsewhere = _alert(town, west=True)
    told = set(Delivery.objects.filter(channel=channel).values_list("alert_id", flat=True))
    assert told == {door.pk}
    assert fever.pk not in told
    assert elsewhere.pk not in told
    assert {"opened"} <= dispatch.NOTIFY_ON


def test_measures_give_time_to_call_and_to_the_door_per_community_and_compound(
    town: Town, property_office: User, clock: time_machine.Coordinates
) -> None:
    first = _alert(town)
    west = _alert(town, west=True)
    clock.shift(timedelta(minutes=1))
    alerting.acknowledge(town.east_worker, first)
    alerting.record_call(town.east_worker, first, town.east_person)
    clock.shift(timedelta(minutes=2))
    alerting.record_call(town.east_worker, first, town.east_person)  # a second call: not first
    alerting.dispatch_to_door(property_office, first, "王师傅")
    clock.shift(timedelta(minutes=7))
    alerting.record_arrival(property_office, first, "visited")  # 10 minutes after the opening
    clock.shift(timedelta(minutes=20))
    alerting.record_arrival(town.west_worker, west, "left_home")  # 30 minutes
    first.refresh_from_db()
    assert first.called_at == T0 + timedelta(minutes=1)
    found = measure(Alert.objects.all(), T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert found.door.seconds == [600.0, 1800.0]
    assert found.door.median == 1200.0
    assert found.door.p90 == 1680.0
    assert found.call.seconds == [60.0]
    by_compound = {g.name: g for g in found.compounds}
    assert by_compound["东风花园"].door.median == 600.0
    assert by_compound["向阳小区"].door.median == 1800.0
    by_community = {g.name: g for g in found.communities}
    assert by_community["东风社区"].call.median == 60.0

    # The town's page, API and export say the same; a worker sees only their community.
    operator = login(town.town_operator)
    page = operator.get("/alerts/stats/", {"date_from": "2026-03-02", "date_to": "2026-03-02"})
    html = page.content.decode()
    assert 'data-testid="per-compound"' in html
    assert "10:00" in html  # 东风花园's time to the door
    api = operator.get(
        "/api/v1/alerts/stats", {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    ).json()
    assert api["time_to_door"] == {"count": 2, "median_seconds": 1200.0, "p90_seconds": 1680.0}
    assert {c["name"]: c["time_to_door"]["median_seconds"] for c in api["compounds"]} == {
        "东风花园": 600.0,
        "向阳小区": 1800.0,
    }
    east = (
        login(town.east_worker)
        .get("/api/v1/alerts/stats", {"date_from": "2026-03-02", "date_to": "2026-03-02"})
        .json()
    )
    assert [c["name"] for c in east["compounds"]] == ["东风花园"]
    export = operator.get(
        "/alerts/stats/export/", {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    )
    assert export["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(export.content))
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert "town" in str(rows[0][0]) or str(town.town_operator) in str(rows[0][0])
    compound_rows = {r[0]: r for r in rows[2:]}
    assert compound_rows["东风花园"][6] == 600.0  # at the door: median (s)
    assert AuditLog.objects.filter(action="alerts.stats_export", actor=town.town_operator).exists()


def test_the_api_dispatches_and_records_the_arrival(
    town: Town, property_office: User, clock: time_machine.Coordinates
) -> None:
    alert = _alert(town)
    elsewhere = _alert(town, west=True)
    client = login(property_office)
    url = f"/api/v1/alerts/{alert.pk}"
    sent = client.post(f"{url}/dispatch", {"sent": "王师傅"}, content_type="application/json")
    assert sent.status_code == 200
    assert sent.json()["status"] == "acknowledged"
    gone = client.post(
        f"/api/v1/alerts/{elsewhere.pk}/dispatch",
        {"sent": "王师傅"},
        content_type="application/json",
    )
    assert gone.status_code == 404
    wrong = client.post(f"{url}/arrive", {"outcome": "teleported"}, content_type="application/json")
    assert wrong.status_code in (400, 422)
    clock.shift(timedelta(minutes=4))
    done = client.post(f"{url}/arrive", {"outcome": "visited"}, content_type="application/json")
    assert done.status_code == 200
    alert.refresh_from_db()
    assert (alert.arrival_outcome, alert.arrived_at) == ("visited", T0 + timedelta(minutes=4))
    # The guard has no business at the door: 403 before any lookup.
    guard = login(town.gate_guard)
    assert (
        guard.post(
            f"{url}/arrive", {"outcome": "visited"}, content_type="application/json"
        ).status_code
        == 403
    )
