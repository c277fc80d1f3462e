"""Retention purge of closed cases, and the care watch (enrol, pause, resume, end)."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from shouwang.alerts.models import Alert, RuleSetting
from shouwang.core.models import AuditLog
from shouwang.devices.models import Device, DeviceStatus
from shouwang.quarantine.alert_kinds import check_care_inactivity
from shouwang.quarantine.models import (
    Case,
    CaseMember,
    CaseStatus,
    FamilyContact,
    HealthCheck,
    ResidentLink,
    Watch,
)
from shouwang.quarantine.services import care, cases, health, retention
from shouwang.quarantine.services.care import CareData, Contact
from shouwang.quarantine.services.queries import quarantined_person_ids
from tests.conftest import Town
from tests.quarantine.conftest import T0


def test_retention_purge_anonymises_closed_cases_and_keeps_counts(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    health.enter_check(town.east_worker, case, town.east_person, "36.5", ["cough"])
    health.issue_link(town.east_worker, case, town.east_person)
    cases.change_end(town.east_worker, case, case.planned_end + timedelta(days=1), "延长一天")
    cases.end_case(town.east_worker, case, CaseStatus.ENDED_EARLY, "解除隔离")
    clock.move_to(T0 + timedelta(days=29))
    assert retention.purge_expired() == 0  # 29 days after closing: kept
    clock.move_to(T0 + timedelta(days=30, minutes=1))
    assert retention.purge_expired() == 1
    assert retention.purge_expired() == 0  # idempotent
    case.refresh_from_db()
    assert case.anonymised_at is not None
    assert case.household is None
    assert (case.reason, case.end_reason) == ("", "")
    assert case.people_count == 1
    assert case.status == CaseStatus.ENDED_EARLY
    assert not CaseMember.objects.exists()
    assert not ResidentLink.objects.exists()
    check = HealthCheck.objects.get()
    assert check.person is None
    assert check.temperature is None
    assert check.symptoms == []
    assert case.end_changes.get().reason == ""
    assert quarantined_person_ids([town.east_person.pk], at=T0 + timedelta(days=1)) == set()
    entry = AuditLog.objects.get(action="quarantine.purge")
    assert entry.details["people"] == 1
    assert entry.details["checks"] == 1


def test_retention_is_configurable_and_spares_active_cases(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    RuleSetting.objects.create(
        kind="quarantine_case", area=town.street, params={"retention_days": 7}
    )
    clock.move_to(T0 + timedelta(days=100))
    assert retention.purge_expired() == 0  # still active
    cases.end_case(town.east_worker, case, CaseStatus.COMPLETED)
    clock.move_to(T0 + timedelta(days=107, minutes=1))
    assert retention.purge_expired() == 1


def _enrol(town: Town, sensor: Device | None = None) -> care.CareEnrolment:
    return care.enrol(
        town.east_worker,
        town.east_person,
        CareData(
            active_from=time(7, 0),
            active_until=time(21, 0),
            inactive_hours=Decimal("6"),
            device=sensor,
            contacts=[Contact("张小明", "+86 139 1234 5678", "儿子")],
        ),
    )


def test_care_watch_enrols_with_sensor_and_encrypted_contacts(
    town: Town, stock_sensor: Device, clock: time_machine.Coordinates
) -> None:
    enrolment = _enrol(town, stock_sensor)
    stock_sensor.refresh_from_db()
    assert stock_sensor.status == DeviceStatus.INSTALLED
    contact = FamilyContact.objects.get()
    assert contact.phone == "13912345678"
    assert contact.masked_phone == "139****5678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM quarantine_familycontact")
        (stored,) = cursor.fetchone()
    assert "13912345678" not in stored
    assert care.notify_numbers(town.east_person.pk) == ["13912345678"]
    assert enrolment.watch is not None
    assert enrolment.watch.params["inactive_hours"] == 6.0
    with pytest.raises(ValidationError):
        _enrol(town)  # twice


def test_pausing_silences_the_inactivity_rule_and_resuming_restores_it(
    town: Town, stock_sensor: Device, clock: time_machine.Coordinates
) -> None:
    enrolment = _enrol(town, stock_sensor)
    clock.move_to(T0 + timedelta(hours=7))  # 16:00, no door opened for 7 active hours
    with pytest.raises(ValidationError):
        care.set_paused(town.east_worker, enrolment, True, "")  # needs a reason
    care.set_paused(town.east_worker, enrolment, True, "住院")
    assert Watch.objects.get().paused
    assert check_care_inactivity() == []
    care.set_paused(town.east_worker, enrolment, False)
    assert len(check_care_inactivity()) == 1
    care.end_enrolment(town.east_worker, enrolment)
    assert Watch.objects.get().ends_at is not None
    assert Alert.objects.count() == 1


def test_bad_contacts_are_refused_with_their_row(town: Town, clock: object) -> None:
    with pytest.raises(ValidationError) as error:
        care.enrol(
            town.east_worker,
            town.east_person,
            CareData(contacts=[Contact("女儿", "13800000000"), Contact("儿子", "12345")]),
        )
    assert "2" in error.value.message_dict["contacts"][0]
    assert not FamilyContact.objects.exists()
    assert not Watch.objects.exists()
