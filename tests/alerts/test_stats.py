"""Alert measures with known timestamps: time to acknowledge and to resolve (median and p90)
per community and per worker, counts per kind and outcome, and the daily summary."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from shouwang.alerts.models import Alert, Severity
from shouwang.alerts.services import alerting
from shouwang.alerts.services.alerting import Trigger
from shouwang.alerts.stats import daily_summary, duration_text, measure, percentile
from shouwang.core.models import Household
from shouwang.core.services.people import create_household
from tests.alerts.conftest import T0
from tests.conftest import Town

DAY = date(2026, 3, 2)  # T0 is 10:00 on this day in Shanghai


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 90) == pytest.approx(9.1)
    assert percentile([300.0, 60.0, 120.0], 90) == pytest.approx(264.0)


def test_duration_text() -> None:
    assert [duration_text(s) for s in (None, 0, 59.6, 90, 3725)] == [
        "—",
        "0:00",
        "1:00",
        "1:30",
        "1:02:05",
    ]


def _raise(
    household: Household, at: datetime, kind: str = "quarantine_door_open", **extra: Any
) -> Alert:
    return alerting.raise_alert(
        Trigger(
            kind=kind,
            subject=extra.pop("subject", f"household:{household.pk}"),
            at=at,
            title=household.door,
            area=household.area,
            severity=Severity.CRITICAL,
            household=household,
            **extra,
        )
    )


def _ack(user: Any, alert: Alert, seconds: int) -> None:
    with time_machine.travel(alert.opened_at + timedelta(seconds=seconds), tick=False):
        alerting.acknowledge(user, alert)


def _resolve(user: Any, alert: Alert, seconds: int, outcome: str) -> None:
    with time_machine.travel(alert.opened_at + timedelta(seconds=seconds), tick=False):
        alerting.resolve(user, alert, outcome)


@pytest.fixture
def handled(town: Town) -> dict[str, Alert]:
    """East: three door alerts acknowledged after 60, 120 and 300 s, two resolved after 600 and
    900 s, and a sensor alert the system cleared. West: one handled in 30/90 s, one opened at
    00:30 local (still 2 March in Shanghai, 1 March in UTC), one at 00:30 on 3 March."""
    east_502 = create_household(None, town.east_unit, "502")
    east_503 = create_household(None, town.east_unit, "503")
    west_103 = create_household(None, town.west_unit, "103")
    west_104 = create_household(None, town.west_unit, "104")
    a = _raise(town.east_home, T0)
    b = _raise(east_502, T0 + timedelta(minutes=10))
    c = _raise(east_503, T0 + timedelta(minutes=20))
    _ack(town.east_worker, a, 60)
    _ack(town.east_worker, b, 120)
    _ack(town.town_operator, c, 300)
    _resolve(town.east_worker, a, 600, "garbage")
    _resolve(town.town_operator, b, 900, "delivery")
    sensor = _raise(town.east_home, T0, kind="device_offline", subject="device:1")
    alerting.clear("device:1", "device_offline", T0 + timedelta(minutes=5), "back online")
    w1 = _raise(town.west_home, T0)
    _ack(town.west_worker, w1, 30)
    _resolve(town.west_worker, w1, 90, "false_alarm")
    w2 = _raise(west_103, datetime(2026, 3, 1, 16, 30, tzinfo=T0.tzinfo))
    w3 = _raise(west_104, datetime(2026, 3, 2, 16, 30, tzinfo=T0.tzinfo))
    return {"a": a, "b": b, "c": c, "sensor": sensor, "w1": w1, "w2": w2, "w3": w3}


def _day() -> tuple[datetime, datetime]:
    from shouwang.alerts.stats import day_bounds

    return day_bounds(DAY)


def test_measures_per_community_and_overall(town: Town, handled: dict[str, Alert]) -> None:
    found = measure(Alert.objects.all(), *_day())
    assert found.total == 6  # not w3: that is 3 March in Shanghai
    communities = {g.name: g for g in found.communities}
    east, west = communities["东风社区"], communities["向阳社区"]
    assert (east.alerts, west.alerts) == (4, 2)
    assert (east.acknowledge.median, east.acknowledge.p90) == (120, pytest.approx(264))
    assert (east.resolve.median, east.resolve.p90) == (750, pytest.approx(870))
    assert (east.acknowledge.count, east.resolve.count) == (3, 2)  # the cleared one: neither
    assert (west.acknowledge.median, west.resolve.median, west.resolve.count) == (30, 90, 1)
    assert (found.acknowledge.median, found.acknowledge.p90) == (90, pytest.approx(246))
    assert sorted(found.resolve.seconds) == [90, 600, 900]


def test_measures_per_worker(town: Town, handled: dict[str, Alert]) -> None:
    found = measure(Alert.objects.all(), *_day())
    workers = {g.name: g for g in found.workers}
    assert set(workers) == {"east", "town", "west"}
    assert workers["east"].acknowledge.seconds == [60, 120]
    assert (workers["east"].acknowledge.median, workers["east"].acknowledge.p90) == (
        90,
        pytest.approx(114),
    )
    assert workers["east"].resolve.seconds == [600]
    assert (workers["town"].acknowledge.seconds, workers["town"].resolve.seconds) == ([300], [900])
    assert (workers["west"].acknowledge.seconds, workers["west"].resolve.seconds) == ([30], [90])


def test_counts_per_kind_and_outcome(town: Town, handled: dict[str, Alert]) -> None:
    found = measure(Alert.objects.all(), *_day())
    assert dict(found.by_kind) == {"quarantine_door_open": 5, "device_offline": 1}
    assert dict(found.by_outcome) == {
        "garbage": 1,
        "delivery": 1,
        "false_alarm": 1,
        "cleared": 1,
    }
    assert [code for code, _label, _n in found.kind_rows()] == [
        "quarantine_door_open",
        "device_offline",
    ]


def test_measures_are_as_scoped_as_the_queryset_given(
    town: Town, handled: dict[str, Alert]
) -> None:
    found = measure(Alert.objects.visible_to(town.west_worker), *_day())
    assert found.total == 2
    assert [g.name for g in found.communities] == ["向阳社区"]


NONE = {"count": 0, "median_seconds": None, "p90_seconds": None}


def test_daily_summary_of_a_community(town: Town, handled: dict[str, Alert]) -> None:
    summary = daily_summary(DAY, town.east)
    assert summary == {
        "date": "2026-03-02",
        "area_id": town.east.pk,
        "area_name": "东风社区",
        "opened": 4,
        "acknowledged": 3,
        "resolved": 3,
        "unresolved": 1,
        "unacknowledged": 0,
        "by_kind": {"quarantine_door_open": 3, "device_offline": 1},
        "by_outcome": {"garbage": 1, "delivery": 1, "cleared": 1},
        "by_severity": {"critical": 4},
        "time_to_acknowledge": {"count": 3, "median_seconds": 120.0, "p90_seconds": 264.0},
        # Nobody called or went to the door through these alerts (see test_to_the_door).
        "time_to_call": NONE,
        "time_to_door": NONE,
        "time_to_resolve": {"count": 2, "median_seconds": 750.0, "p90_seconds": 870.0},
        "communities": [
            {
                "area_id": town.east.pk,
                "name": "东风社区",
                "alerts": 4,
                "time_to_acknowledge": {
                    "count": 3,
                    "median_seconds": 120.0,
                    "p90_seconds": 264.0,
                },
                "time_to_call": NONE,
                "time_to_door": NONE,
                "time_to_resolve": {"count": 2, "median_seconds": 750.0, "p90_seconds": 870.0},
            }
        ],
    }


def test_daily_summary_everywhere_and_on_a_quiet_day(town: Town, handled: dict[str, Alert]) -> None:
    everywhere = daily_summary(DAY, None)
    assert (everywhere["opened"], everywhere["unacknowledged"]) == (6, 1)  # w2 is still open
    assert [c["name"] for c in everywhere["communities"]] == ["东风社区", "向阳社区"]
    next_day = daily_summary(DAY + timedelta(days=1), town.west)
    assert next_day["opened"] == 1  # w3
    quiet = daily_summary(date(2026, 2, 1), town.east)
    assert quiet["opened"] == 0
    assert quiet["time_to_acknowledge"] == {
        "count": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }
