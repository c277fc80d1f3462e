"""A case's life as a worker lives it: start with a sensor, door alerts while active, extend,
end, take the sensor back, and a second case later for the same person."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shouwang.alerts.models import Alert, AlertEntry, AlertStatus, RuleSetting
from shouwang.alerts.services.suppression import upcoming
from shouwang.core.models import AuditLog
from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.services.lifecycle import register_device
from shouwang.quarantine.models import Case, CaseStatus, ServiceKind, Source, Watch
from shouwang.quarantine.services import cases
from shouwang.quarantine.services.cases import CaseData, start_case
from shouwang.quarantine.services.queries import quarantined_person_ids
from tests.conftest import Town
from tests.quarantine.conftest import T0, Door


def test_starting_a_case_installs_the_sensor_and_arms_the_door_rule(
    town: Town, case: Case, stock_sensor: Device, door: Door
) -> None:
    stock_sensor.refresh_from_db()
    assert stock_sensor.status == DeviceStatus.INSTALLED
    assert stock_sensor.household_id == town.east_home.pk
    assert case.starts_on == date(2026, 3, 2)
    assert case.planned_end == date(2026, 3, 15)  # 14 days, the default
    assert case.watch is not None
    assert case.watch.ends_at is None
    assert Watch.objects.filter(household=town.east_home, kind="quarantine").count() == 1
    assert set(town.east_person.tags.values_list("code", flat=True)) >= {"under_quarantine"}
    assert quarantined_person_ids([town.east_person.pk, town.west_person.pk]) == {
        town.east_person.pk
    }
    door(stock_sensor.key, "open", T0 + timedelta(minutes=5))
    alert = Alert.objects.get()
    assert alert.kind == "quarantine_door_open"
    assert AuditLog.objects.filter(action="quarantine.start").count() == 1


def test_area_setting_changes_the_default_length(town: Town, clock: object) -> None:
    RuleSetting.objects.create(kind="quarantine_case", area=town.east, params={"days": 21})
    case = start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.RISK_AREA, no_device_reason="库存为零"),
    )
    assert case.duration_days == 21
    assert case.planned_end == date(2026, 3, 22)
    assert case.device is None
    assert case.no_device_reason == "库存为零"


def test_extension_and_shortening_keep_the_previous_end_with_a_reason(
    town: Town, case: Case
) -> None:
    cases.change_end(town.east_worker, case, date(2026, 3, 20), "核酸阳性密接延长")
    cases.change_end(town.east_worker, case, date(2026, 3, 18), "政策调整")
    case.refresh_from_db()
    assert case.planned_end == date(2026, 3, 18)
    history = [(c.previous_end, c.new_end, c.reason) for c in case.end_changes.all()]
    assert history == [
        (date(2026, 3, 15), date(2026, 3, 20), "核酸阳性密接延长"),
        (date(2026, 3, 20), date(2026, 3, 18), "政策调整"),
    ]
    with pytest.raises(ValidationError) as missing_reason:
        cases.change_end(town.east_worker, case, date(2026, 3, 25), "  ")
    assert "reason" in missing_reason.value.message_dict
    with pytest.raises(ValidationError):
        cases.change_end(town.east_worker, case, date(2026, 3, 1), "早于开始")
    case.refresh_from_db()
    assert case.planned_end == date(2026, 3, 18)
    assert case.end_changes.count() == 2


def test_ending_stops_the_door_rule_clears_alerts_and_schedules_recovery(
    town: Town, case: Case, stock_sensor: Device, door: Door, clock: time_machine.Coordinates
) -> None:
    door(stock_sensor.key, "open", T0 + timedelta(minutes=5))
    door(stock_sensor.key, "closed", T0 + timedelta(minutes=6))
    clock.move_to(T0 + timedelta(days=13, hours=1))
    cases.end_case(town.east_worker, case, CaseStatus.COMPLETED)
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.recovery_due == date(2026, 3, 15)
    # Nobody acknowledged the door alert: it stays for a person to close (it used to be
    # cleared by the system), with the case's end on its timeline.
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.OPEN
    assert alert.outcome == ""
    ended = alert.entries.get(kind=AlertEntry.Kind.CASE_ENDED)
    assert ended.actor == town.east_worker
    assert ended.data["case"] == case.pk
    assert quarantined_person_ids([town.east_person.pk]) == set()
    assert quarantined_person_ids([town.east_person.pk], at=T0 + timedelta(days=1)) == {
        town.east_person.pk
    }
    assert not town.east_person.tags.filter(code="under_quarantine").exists()
    door(stock_sensor.key, "open", T0 + timedelta(days=13, hours=2))
    assert Alert.objects.count() == 1  # the door is no longer watched

    with pytest.raises(ValidationError):
        cases.end_case(town.east_worker, case, CaseStatus.COMPLETED)  # twice
    cases.record_recovery(town.east_worker, case, "完好")
    stock_sensor.refresh_from_db()
    assert stock_sensor.status == DeviceStatus.RECOVERED
    assert stock_sensor.household_id is None
    assert stock_sensor.area == town.east
    with pytest.raises(ValidationError):
        cases.record_recovery(town.east_worker, case)


def test_a_person_can_have_a_second_case_later(
    town: Town, case: Case, stock_sensor: Device, clock: time_machine.Coordinates
) -> None:
    with pytest.raises(ValidationError):
        start_case(
            town.east_worker,
            town.east_home,
            CaseData([town.east_person], Source.CLOSE_CONTACT, no_device_reason="x"),
        )
    cases.end_case(town.east_worker, case, CaseStatus.TRANSFERRED, "转集中隔离点")
    cases.record_recovery(town.east_worker, case)
    clock.move_to(T0 + timedelta(days=40))
    second = start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.SECONDARY_CONTACT, device=stock_sensor),
    )
    assert second.pk != case.pk
    assert second.is_active
    assert second.starts_on == date(2026, 4, 11)
    assert quarantined_person_ids([town.east_person.pk]) == {town.east_person.pk}
    assert quarantined_person_ids([town.east_person.pk], at=T0 + timedelta(days=20)) == set()
    assert Case.objects.filter(household=town.east_home).count() == 2


def test_ending_other_than_completed_needs_a_reason(town: Town, case: Case) -> None:
    with pytest.raises(ValidationError) as error:
        cases.end_case(town.east_worker, case, CaseStatus.TRANSFERRED, "")
    assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError):
        cases.end_case(town.east_worker, case, "vanished", "x")
    cases.end_case(town.east_worker, case, CaseStatus.TRANSFERRED, "转集中隔离点")
    case.refresh_from_db()
    assert case.status == CaseStatus.TRANSFERRED
    assert case.end_reason == "转集中隔离点"


def test_bad_input_is_refused_and_nothing_is_half_applied(
    town: Town, stock_sensor: Device, clock: object
) -> None:
    with pytest.raises(ValidationError) as error:
        start_case(
            town.east_worker,
            town.east_home,
            CaseData([town.west_person], "nonsense", days=0),
        )
    assert set(error.value.message_dict) == {"people", "source", "days", "device"}
    # A sensor installed elsewhere: refused, and no case, watch or installation is left behind.
    other = register_device(None, "generic", "door-q2", town.east)
    from shouwang.core.services.people import create_household
    from shouwang.devices.services.lifecycle import install_device

    install_device(None, other, create_household(None, town.east_unit, "502"))
    with pytest.raises(ValidationError):
        start_case(
            town.east_worker,
            town.east_home,
            CaseData([town.east_person], Source.CLOSE_CONTACT, device=other),
        )
    assert not Case.objects.exists()
    assert not Watch.objects.exists()
    stock_sensor.refresh_from_db()
    assert stock_sensor.status == DeviceStatus.IN_STOCK


def test_out_of_area_and_wrong_role_are_refused(town: Town, case: Case) -> None:
    with pytest.raises(Http404):
        cases.change_end(town.west_worker, case, date(2026, 3, 20), "x")
    with pytest.raises(PermissionDenied):
        cases.end_case(town.gate_guard, case, CaseStatus.COMPLETED)
    with pytest.raises(Http404):
        start_case(
            town.west_worker,
            town.east_home,
            CaseData([town.east_person], Source.CLOSE_CONTACT, no_device_reason="x"),
        )


def test_a_case_started_without_sensor_gets_one_later(
    town: Town, stock_sensor: Device, clock: object, door: Door
) -> None:
    case = start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.CLOSE_CONTACT, no_device_reason="缺货"),
    )
    cases.install_sensor(town.east_worker, case, stock_sensor)
    case.refresh_from_db()
    assert case.device == stock_sensor
    assert case.installed_by_case
    assert not case.no_device_reason
    door(stock_sensor.key, "open", T0 + timedelta(minutes=1))
    assert Alert.objects.filter(kind="quarantine_door_open").count() == 1
    with pytest.raises(ValidationError):
        cases.install_sensor(town.east_worker, case, stock_sensor)


def test_a_scheduled_service_suppresses_its_door_opening(
    town: Town, case: Case, stock_sensor: Device, door: Door
) -> None:
    at = T0 + timedelta(hours=1)
    record = cases.log_service(
        town.east_worker, case, ServiceKind.GARBAGE, at, "每日收垃圾", minutes=10, scheduled=True
    )
    assert record.suppression is not None
    assert [w.pk for w in upcoming(town.east_home, T0)] == [record.suppression.pk]
    door(stock_sensor.key, "open", at + timedelta(minutes=5))
    assert not Alert.objects.exists()
    door(stock_sensor.key, "closed", at + timedelta(minutes=6))
    door(stock_sensor.key, "open", at + timedelta(minutes=30))
    assert Alert.objects.count() == 1
    done = cases.log_service(town.east_worker, case, ServiceKind.SUPPLIES, T0, "代购蔬菜")
    assert done.suppression is None
    assert case.services.count() == 2
    with pytest.raises(ValidationError):
        cases.log_service(town.east_worker, case, "spa", T0)


def test_an_ended_case_refuses_further_changes(town: Town, case: Case) -> None:
    from shouwang.quarantine.services import health

    cases.end_case(town.east_worker, case, CaseStatus.ENDED_EARLY, "转诊")
    with pytest.raises(ValidationError):
        cases.change_end(town.east_worker, case, date(2026, 3, 20), "延长")
    with pytest.raises(ValidationError):
        cases.log_service(town.east_worker, case, ServiceKind.DELIVERY, T0)
    with pytest.raises(ValidationError):
        health.issue_link(town.east_worker, case, town.east_person)
    with pytest.raises(ValidationError):
        health.enter_check(town.east_worker, case, town.east_person, "36.5")
    case.refresh_from_db()
    assert case.planned_end == date(2026, 3, 15)
    assert not case.services.exists()


def test_a_case_can_adopt_the_care_watch_sensor_and_leaves_it_at_the_door(
    town: Town, stock_sensor: Device, clock: object
) -> None:
    from shouwang.quarantine.services import care
    from shouwang.quarantine.services.care import CareData

    care.enrol(town.east_worker, town.east_person, CareData(device=stock_sensor))
    case = start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.CLOSE_CONTACT, device=stock_sensor),
    )
    assert case.device == stock_sensor
    assert not case.installed_by_case
    cases.end_case(town.east_worker, case, CaseStatus.LOST, "联系不上")
    case.refresh_from_db()
    assert case.recovery_due is None  # not on the list to take back
    with pytest.raises(ValidationError):
        cases.record_recovery(town.east_worker, case)
    stock_sensor.refresh_from_db()
    assert stock_sensor.status == DeviceStatus.INSTALLED


def test_completed_is_refused_before_the_planned_end_and_early_release_needs_a_reason(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    clock.move_to(T0 + timedelta(days=12, hours=14))  # 14 March 23:00 in Shanghai
    with pytest.raises(ValidationError) as early:
        cases.end_case(town.east_worker, case, CaseStatus.COMPLETED)
    assert "2026-03-15" in early.value.message_dict["status"][0]
    with pytest.raises(ValidationError) as no_reason:
        cases.end_case(town.east_worker, case, CaseStatus.ENDED_EARLY, "   ")
    assert "reason" in no_reason.value.message_dict
    case.refresh_from_db()
    assert case.is_active
    cases.end_case(town.east_worker, case, CaseStatus.ENDED_EARLY, "核酸阴性，经批准提前解除")
    case.refresh_from_db()
    assert (case.status, case.end_reason) == (CaseStatus.ENDED_EARLY, "核酸阴性，经批准提前解除")
    audit = AuditLog.objects.get(action="quarantine.end")
    assert audit.details == {"status": "ended_early", "reason": "核酸阴性，经批准提前解除"}


def test_ending_keeps_fever_alerts_open_and_clears_only_missed_checks(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    from shouwang.quarantine.services import health

    clock.move_to(T0 + timedelta(hours=4))  # 13:00: the morning check was missed
    health.check_missed()
    health.enter_check(town.east_worker, case, town.east_person, "38.2")  # a fever
    missed = Alert.objects.get(kind="health_check_missed")
    assert missed.status == AlertStatus.RESOLVED  # entering a check clears it, as before
    cases.end_case(town.east_worker, case, CaseStatus.TRANSFERRED, "转定点医院")
    fever = Alert.objects.get(kind="fever")
    assert fever.status == AlertStatus.OPEN
    assert fever.next_escalation_at is not None  # still climbs until somebody answers it
    (entry,) = fever.entries.filter(kind=AlertEntry.Kind.CASE_ENDED)
    assert "转定点医院" in entry.text
