"""Health checks twice a day: fever and missed checks alert; the resident's own link works for
that one person only, and stops working when revoked or when the case ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from shouwang.alerts.models import Alert, AlertStatus, RuleSetting
from shouwang.core.models import AuditLog, Person
from shouwang.core.services.people import PersonData, create_person
from shouwang.quarantine.models import Case, CaseStatus, HealthCheck
from shouwang.quarantine.services import cases, health
from shouwang.quarantine.services.health import LinkExpired, LinkInvalid
from tests.conftest import Town
from tests.quarantine.conftest import T0


def test_a_normal_check_is_stored_for_the_current_slot(town: Town, case: Case) -> None:
    check = health.enter_check(town.east_worker, case, town.east_person, "36.5", ["cough"])
    assert (check.slot, str(check.temperature), check.symptoms) == (0, "36.5", ["cough"])
    assert not check.fever
    assert not Alert.objects.exists()
    # A second reading in the same half-day is kept too (it used to be refused).
    again = health.enter_check(town.east_worker, case, town.east_person, "36.6")
    assert again.slot == check.slot
    assert HealthCheck.objects.count() == 2


@pytest.mark.parametrize("bad", ["", "abc", "3.65e1x", "50", "NaN", "-36"])
def test_a_malformed_temperature_is_refused(town: Town, case: Case, bad: str) -> None:
    with pytest.raises(ValidationError) as error:
        health.enter_check(town.east_worker, case, town.east_person, bad)
    assert "temperature" in error.value.message_dict
    assert not HealthCheck.objects.exists()


def test_fever_raises_an_alert_at_the_configured_threshold(town: Town, case: Case) -> None:
    check = health.enter_check(town.east_worker, case, town.east_person, "37.3")
    assert check.fever
    alert = Alert.objects.get()
    assert alert.kind == "fever"
    assert alert.person == town.east_person
    assert "37.3" in alert.title
    assert "张*明" in alert.title


def test_fever_threshold_is_configurable_per_area(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    RuleSetting.objects.create(kind="fever", area=town.east, params={"threshold": 38.0})
    assert not health.enter_check(town.east_worker, case, town.east_person, "37.5").fever
    assert not Alert.objects.exists()


def test_a_missed_check_alerts_once_after_its_window_and_clears_when_entered(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    assert health.check_missed() == []  # 09:00: the morning window is still open
    clock.move_to(T0 + timedelta(hours=3, minutes=1))  # 12:01
    (alert,) = health.check_missed()
    assert alert.kind == "health_check_missed"
    assert alert.person == town.east_person
    assert health.check_missed() == []  # idempotent
    late = health.enter_check(town.east_worker, case, town.east_person, "36.4")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    # Entered after the morning window, it counts for the afternoon: nothing more today.
    assert late.slot == HealthCheck.Slot.AFTERNOON
    clock.move_to(T0 + timedelta(hours=11, minutes=5))
    assert health.check_missed() == []
    # Next morning, nobody checks in: a new alert.
    clock.move_to(T0 + timedelta(days=1, hours=3, minutes=5))
    assert len(health.check_missed()) == 1


def test_a_case_started_in_the_afternoon_owes_no_morning_check(
    town: Town, stock_sensor: object, clock: time_machine.Coordinates
) -> None:
    from shouwang.quarantine.models import Source
    from shouwang.quarantine.services.cases import CaseData, start_case

    clock.move_to(T0 + timedelta(hours=5))  # 14:00
    start_case(
        town.east_worker,
        town.east_home,
        CaseData([town.east_person], Source.CLOSE_CONTACT, no_device_reason="x"),
    )
    assert health.check_missed() == []
    clock.move_to(T0 + timedelta(hours=11, minutes=1))  # 20:01
    assert len(health.check_missed()) == 1


def test_the_resident_link_reaches_one_person_until_revoked(town: Town, case: Case) -> None:
    link, token = health.issue_link(town.east_worker, case, town.east_person)
    assert len(token) >= 43
    assert link.token_hash != token
    assert token not in link.token_hash
    check = health.submit_by_link(token, "36.8", [])
    assert check.by_resident
    assert check.person == town.east_person
    assert check.case == case
    assert AuditLog.objects.filter(action="quarantine.health_check", source="resident").exists()
    # A new link revokes the old one.
    _, newer = health.issue_link(town.east_worker, case, town.east_person)
    with pytest.raises(LinkExpired):
        health.resolve_link(token)
    assert health.resolve_link(newer).person == town.east_person
    health.revoke_link(town.east_worker, health.resolve_link(newer))
    with pytest.raises(LinkExpired):
        health.submit_by_link(newer, "36.8")


@pytest.mark.parametrize(
    "forged",
    ["", "x", "A" * 43, "../../etc/passwd", "A" * 200, "é" * 43],
)
def test_a_forged_token_finds_nothing(town: Town, case: Case, forged: str) -> None:
    health.issue_link(town.east_worker, case, town.east_person)
    with pytest.raises(LinkInvalid):
        health.submit_by_link(forged, "36.5")
    assert not HealthCheck.objects.exists()


def test_the_link_expires_with_the_case(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    _, token = health.issue_link(town.east_worker, case, town.east_person)
    # Past the planned last day (15 March, Shanghai), even before a worker ends the case.
    clock.move_to(T0 + timedelta(days=13, hours=14, minutes=59))  # 15 March 23:59
    health.resolve_link(token)
    clock.move_to(T0 + timedelta(days=13, hours=15))  # 16 March 00:00
    with pytest.raises(LinkExpired):
        health.resolve_link(token)
    # An extension lengthens it; ending the case ends it.
    cases.change_end(town.east_worker, case, case.planned_end + timedelta(days=3), "延长")
    health.resolve_link(token)
    cases.end_case(town.east_worker, case, CaseStatus.ENDED_EARLY, "核酸阴性，提前解除")
    with pytest.raises(LinkExpired):
        health.resolve_link(token)


def test_links_only_for_members_of_the_case(town: Town, case: Case) -> None:
    other: Person = create_person(None, town.east_home, PersonData.clean("王五", "", "13700000000"))
    with pytest.raises(ValidationError):
        health.issue_link(town.east_worker, case, other)
    with pytest.raises(ValidationError):
        health.enter_check(town.east_worker, case, other, "36.5")


def test_check_deadlines_are_configurable_per_area(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    from shouwang.quarantine.services.reports import morning

    RuleSetting.objects.create(
        kind="health_check_missed", area=town.east, params={"morning_until": "10:00"}
    )
    clock.move_to(T0 + timedelta(hours=1, minutes=1))  # 10:01
    assert len(health.check_missed()) == 1
    assert [m.member.person for m in morning(town.east_worker).missing] == [town.east_person]


def test_a_second_fever_reading_in_the_same_half_day_alerts_again(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    """The resident reports 36.8 in the morning, then feels hot and reports 38.1 an hour later:
    the second reading must reach the worker, and a third is one more occurrence."""
    _, token = health.issue_link(town.east_worker, case, town.east_person)
    health.submit_by_link(token, "36.8")
    clock.shift(timedelta(hours=1))
    second = health.submit_by_link(token, "38.1")
    assert second.fever
    assert second.slot == 0
    alert = Alert.objects.get(kind="fever")
    assert "38.1" in alert.title
    clock.shift(timedelta(minutes=30))
    health.submit_by_link(token, "38.4")
    alert.refresh_from_db()
    assert alert.occurrences == 2
    assert alert.status == AlertStatus.OPEN
    assert [str(c.temperature) for c in health.checks_today(health.resolve_link(token))] == [
        "36.8",
        "38.1",
        "38.4",
    ]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("３７．２", "37.2"), ("３８", "38.0"), (" 36.6℃", "36.6"), ("37。5", "37.5")],
)
def test_full_width_and_chinese_punctuation_are_read(
    town: Town, case: Case, typed: str, stored: str
) -> None:
    _, token = health.issue_link(town.east_worker, case, town.east_person)
    check = health.submit_by_link(token, typed)
    assert str(check.temperature) == stored
