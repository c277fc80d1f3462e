"""The alert rules: what raises an alert, what adds to one, what stays quiet."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shouwang.alerts.models import (
    Alert,
    AlertStatus,
    RuleSetting,
    Severity,
    SuppressionWindow,
)
from shouwang.alerts.services.alerting import resolve
from shouwang.alerts.timers import check_door_held_open
from shouwang.devices import alert_kinds as device_kinds
from shouwang.devices.models import Device
from shouwang.devices.services.ingest import mark_offline
from shouwang.quarantine import alert_kinds as quarantine_kinds
from shouwang.quarantine.alert_kinds import check_care_inactivity
from shouwang.quarantine.models import Watch, WatchKind
from tests.alerts.conftest import T0, Door
from tests.conftest import Town


def test_door_opening_in_quarantine_raises_a_critical_alert(
    town: Town, quarantine: Watch, door: Door
) -> None:
    door("open", T0)
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.status) == (
        quarantine_kinds.QUARANTINE_DOOR_OPEN,
        Severity.CRITICAL,
        AlertStatus.OPEN,
    )
    assert alert.title == "东风花园 3号楼 2单元501"
    assert (alert.household, alert.person, alert.area) == (
        town.east_home,
        town.east_person,
        town.east_unit,
    )
    assert alert.entries.get().kind == "opened"


def test_repeated_openings_add_occurrences_not_alerts(quarantine: Watch, door: Door) -> None:
    door("open", T0)
    door("closed", T0 + timedelta(seconds=30))
    door("open", T0 + timedelta(minutes=5))
    alert = Alert.objects.get()
    assert alert.occurrences == 2
    assert alert.last_occurred_at == T0 + timedelta(minutes=5)
    assert [e.kind for e in alert.entries.all()] == ["opened", "occurred"]


def test_after_resolving_a_new_opening_is_a_new_alert(
    town: Town, quarantine: Watch, door: Door
) -> None:
    door("open", T0)
    resolve(town.east_worker, Alert.objects.get(), "garbage", "倒垃圾")
    door("closed", T0 + timedelta(minutes=1))
    door("open", T0 + timedelta(minutes=30))
    assert Alert.objects.count() == 2
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == 1


def test_no_alert_outside_quarantine(quarantine: Watch, door: Door) -> None:
    door("open", quarantine.ends_at + timedelta(minutes=1))  # type: ignore[operator]
    door("closed", quarantine.ends_at + timedelta(minutes=2))  # type: ignore[operator]
    quarantine.paused = True
    quarantine.save()
    door("open", T0)
    assert not Alert.objects.exists()


def test_quarantine_bounds_are_exact_and_other_watches_do_not_count(
    town: Town, sensor: Device, door: Door
) -> None:
    # The ingest rule first asks, in hand-written SQL, which households of the batch are under
    # quarantine at all: its bounds must be the ORM's, to the microsecond, on both databases.
    start = T0 + timedelta(microseconds=500_000)
    Watch.objects.create(kind=WatchKind.CARE, household=town.east_home, starts_at=T0)
    Watch.objects.create(
        kind=WatchKind.QUARANTINE, household=town.west_home, starts_at=T0 - timedelta(days=1)
    )
    watch = Watch.objects.create(
        kind=WatchKind.QUARANTINE,
        household=town.east_home,
        starts_at=start,
        ends_at=start + timedelta(days=14),
    )
    door("open", start - timedelta(microseconds=1))  # a microsecond early
    door("closed", start - timedelta(microseconds=1))
    assert not Alert.objects.exists()
    door("open", start)  # the watch's first instant
    assert Alert.objects.get().household == town.east_home
    Alert.objects.all().delete()
    door("closed", watch.ends_at)  # type: ignore[arg-type]
    door("open", watch.ends_at)  # type: ignore[arg-type]  # its end is not in it
    assert not Alert.objects.exists()


def test_the_door_rule_loads_only_what_a_batch_needs(
    town: Town, sensor: Device, door: Door
) -> None:
    # Nearly every batch is like this one (an installed sensor, nobody under quarantine): the
    # rule must answer it with its one hand-written statement, not load watches, suppression
    # windows or households (bench/ingest_batch_cpu.py shows what that costs the writer).
    Watch.objects.create(kind=WatchKind.CARE, household=town.east_home, starts_at=T0)
    door("closed", T0 - timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        door("open", T0)
    rule_reads = [q["sql"] for q in queries if "alerts_watch" in q["sql"]]
    assert len(rule_reads) == 1
    assert not any(
        "alerts_suppressionwindow" in q["sql"] for q in queries if q["sql"] not in rule_reads
    )
    assert not any('FROM "core_household"' in q["sql"] for q in queries)
    assert not Alert.objects.exists()
    # Under quarantine, with no suppression window: the windows are not loaded either.
    Watch.objects.create(kind=WatchKind.QUARANTINE, household=town.east_home, starts_at=T0)
    door("closed", T0 + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        door("open", T0 + timedelta(minutes=2))
    assert Alert.objects.count() == 1
    first_read = next(q["sql"] for q in queries if "alerts_watch" in q["sql"])
    others = [q["sql"] for q in queries if q["sql"] != first_read]
    assert not any("alerts_suppressionwindow" in sql for sql in others)


def test_closing_the_door_raises_nothing(quarantine: Watch, door: Door) -> None:
    door("closed", T0)
    assert not Alert.objects.exists()


def test_suppression_window_records_the_event_but_raises_nothing(
    town: Town, quarantine: Watch, door: Door
) -> None:
    SuppressionWindow.objects.create(
        household=town.east_home, starts_at=T0, ends_at=T0 + timedelta(minutes=15), reason="收垃圾"
    )
    result = door("open", T0 + timedelta(minutes=5))
    assert result.stored == 1
    assert not Alert.objects.exists()
    door("closed", T0 + timedelta(minutes=6))
    door("open", T0 + timedelta(minutes=16))
    assert Alert.objects.count() == 1


def test_settings_inherit_down_the_tree_and_households_override(
    town: Town, quarantine: Watch, door: Door
) -> None:
    RuleSetting.objects.create(
        kind=quarantine_kinds.QUARANTINE_DOOR_OPEN, area=town.street, enabled=False
    )
    door("open", T0)
    assert not Alert.objects.exists()
    RuleSetting.objects.create(
        kind=quarantine_kinds.QUARANTINE_DOOR_OPEN,
        household=town.east_home,
        enabled=True,
        severity=Severity.WARNING,
    )
    door("closed", T0 + timedelta(minutes=1))
    door("open", T0 + timedelta(minutes=2))
    assert Alert.objects.get().severity == Severity.WARNING


def test_person_setting_beats_the_area(town: Town, quarantine: Watch, door: Door) -> None:
    RuleSetting.objects.create(
        kind=quarantine_kinds.QUARANTINE_DOOR_OPEN, area=town.east, enabled=True
    )
    RuleSetting.objects.create(
        kind=quarantine_kinds.QUARANTINE_DOOR_OPEN, person=town.east_person, enabled=False
    )
    door("open", T0)
    assert not Alert.objects.exists()


def test_door_held_open(town: Town, door: Door) -> None:
    door("open", T0)
    assert check_door_held_open(T0 + timedelta(minutes=9)) == []
    [alert] = check_door_held_open(T0 + timedelta(minutes=10))
    assert alert.kind == device_kinds.DOOR_HELD_OPEN
    # Checked again a minute later: the same opening is not alerted twice.
    assert check_door_held_open(T0 + timedelta(minutes=11)) == []
    RuleSetting.objects.create(
        kind=device_kinds.DOOR_HELD_OPEN, area=town.west, params={"minutes": 1}
    )
    assert Alert.objects.get().occurrences == 1


def test_door_held_open_threshold_per_area(town: Town, door: Door) -> None:
    RuleSetting.objects.create(
        kind=device_kinds.DOOR_HELD_OPEN, area=town.east, params={"minutes": 3}
    )
    door("open", T0)
    assert len(check_door_held_open(T0 + timedelta(minutes=3))) == 1


def _care(town: Town, **params: object) -> Watch:
    return Watch.objects.create(
        kind=WatchKind.CARE,
        household=town.east_home,
        person=town.east_person,
        starts_at=T0 - timedelta(days=2),
        params=params,
    )


def test_care_watch_alerts_after_hours_of_active_time_without_an_opening(
    town: Town, door: Door
) -> None:
    _care(town, inactive_hours=6, active_from="07:00", active_until="21:00")
    door("open", T0)  # 10:00 local
    # 20:59 local: 10h59 of active time, over the 6 h threshold.
    assert len(check_care_inactivity(T0 + timedelta(hours=10, minutes=59))) == 1
    assert Alert.objects.get().kind == quarantine_kinds.CARE_INACTIVITY


def test_care_watch_nights_do_not_count(town: Town, door: Door) -> None:
    _care(town, inactive_hours=6, active_from="07:00", active_until="21:00")
    door("open", T0 + timedelta(hours=10))  # 20:00 local
    # Next morning 09:00 local: 1 h that evening + 2 h this morning = 3 h of active time.
    assert check_care_inactivity(T0 + timedelta(hours=23)) == []
    # 12:30 local: 1 + 5.5 = 6.5 h.
    assert len(check_care_inactivity(T0 + timedelta(hours=26, minutes=30))) == 1
    # At night nothing is checked at all.
    assert check_care_inactivity(T0 + timedelta(hours=37)) == []


def test_care_watch_heartbeats_do_not_count_as_activity(
    town: Town, door: Door, sensor: Device
) -> None:
    _care(town, inactive_hours=2)
    door("open", T0)
    door("closed", T0 + timedelta(minutes=1))
    from shouwang.devices.adapters import Reading
    from shouwang.devices.services.ingest import Incoming, ingest

    beat = T0 + timedelta(hours=2)
    ingest(
        [
            Incoming(
                Reading(
                    adapter="generic",
                    device_key=sensor.key,
                    event_time=beat,
                    battery_percent=80,
                    dedup_key="hb",
                ),
                beat,
            )
        ],
        "http",
    )
    assert len(check_care_inactivity(T0 + timedelta(hours=2, minutes=30))) == 1


def test_care_watch_paused_or_enough_activity(town: Town, door: Door) -> None:
    watch = _care(town, inactive_hours=2)
    door("open", T0)
    door("open", T0 + timedelta(hours=1, minutes=30), battery_percent=None)
    assert check_care_inactivity(T0 + timedelta(hours=3)) == []
    watch.paused = True
    watch.save()
    assert check_care_inactivity(T0 + timedelta(hours=9)) == []


def test_device_health_alerts_and_clears(town: Town, door: Door, sensor: Device) -> None:
    door("closed", T0, tamper=True)
    alert = Alert.objects.get(kind=device_kinds.DEVICE_TAMPER)
    assert alert.severity == Severity.CRITICAL
    door("closed", T0 + timedelta(minutes=1), tamper=False)
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == (AlertStatus.RESOLVED, "cleared")
    with time_machine.travel(T0 + timedelta(hours=26), tick=False):
        mark_offline()
    assert Alert.objects.get(kind=device_kinds.DEVICE_OFFLINE).status == AlertStatus.OPEN
    door("closed", T0 + timedelta(hours=27))
    assert Alert.objects.get(kind=device_kinds.DEVICE_OFFLINE).status == AlertStatus.RESOLVED


def test_devices_in_stock_raise_no_health_alerts(town: Town) -> None:
    from shouwang.devices.services.lifecycle import register_device

    register_device(None, "generic", "spare", town.east)
    from shouwang.devices.adapters import Reading
    from shouwang.devices.services.ingest import Incoming, ingest

    ingest(
        [
            Incoming(
                Reading(
                    adapter="generic", device_key="spare", event_time=T0, tamper=True, dedup_key="x"
                ),
                T0,
            )
        ],
        "http",
    )
    assert not Alert.objects.exists()
