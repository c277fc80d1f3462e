"""An account that reveals or exports far more personal data than usual alerts the admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from shouwang.alerts.models import Alert, AlertStatus
from shouwang.alerts.privacy import UNUSUAL_ACCESS, check_unusual_access
from shouwang.core.models import AuditLog, Person
from shouwang.core.services.people import reveal
from shouwang.core.services.roster import export_people
from tests.conftest import Town

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _reveals(town: Town, count: int, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        for _ in range(count):
            reveal(town.east_worker, town.east_person, "phone")


def test_a_burst_of_reveals_alerts_the_platform_admins_only(town: Town) -> None:
    _reveals(town, 31, NOW - timedelta(minutes=30))

    alerts = check_unusual_access(NOW)

    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == UNUSUAL_ACCESS
    assert alert.subject == f"user:{town.east_worker.pk}"
    assert "east" in alert.title
    assert "31" in alert.title
    assert alert.area is None
    assert list(Alert.objects.visible_to(town.admin)) == [alert]
    # Nobody with an area sees it: neither the account in question nor its colleagues.
    for user in (town.east_worker, town.west_worker, town.town_operator):
        assert not Alert.objects.visible_to(user).exists()


def test_ordinary_work_raises_nothing(town: Town) -> None:
    _reveals(town, 30, NOW - timedelta(minutes=30))  # at the floor, not over it

    assert check_unusual_access(NOW) == []


def test_reveals_older_than_the_hour_do_not_count(town: Town) -> None:
    _reveals(town, 40, NOW - timedelta(minutes=61))

    assert check_unusual_access(NOW) == []


def test_a_heavy_but_habitual_account_is_not_flagged(town: Town) -> None:
    # 40 an hour is this account's daily habit (a hotline worker calling residents back):
    # 40 × 24 × 30 reveals over the baseline month average 40 an hour.
    AuditLog.objects.bulk_create(
        AuditLog(
            at=NOW - timedelta(hours=2 + i % (24 * 29)),
            actor=town.east_worker,
            actor_label="east",
            action="person.reveal",
            source="web",
        )
        for i in range(40 * 24 * 30)
    )
    _reveals(town, 60, NOW - timedelta(minutes=10))
    assert check_unusual_access(NOW) == []

    _reveals(town, 150, NOW - timedelta(minutes=5))  # 210 in the hour: over 5 × 40
    assert len(check_unusual_access(NOW)) == 1


def test_repeated_checks_keep_one_alert(town: Town) -> None:
    _reveals(town, 35, NOW - timedelta(minutes=20))

    first = check_unusual_access(NOW)
    second = check_unusual_access(NOW + timedelta(minutes=10))

    assert [a.pk for a in first] == [a.pk for a in second]
    alert = Alert.objects.get(kind=UNUSUAL_ACCESS)
    assert alert.status == AlertStatus.OPEN
    assert alert.occurrences == 2


def test_many_exports_in_a_day_alert(town: Town) -> None:
    people = list(Person.objects.filter(pk=town.east_person.pk))
    with time_machine.travel(NOW - timedelta(hours=3), tick=False):
        for _ in range(6):
            export_people(town.east_worker, people)

    alerts = check_unusual_access(NOW)

    assert len(alerts) == 1
    assert "6" in alerts[0].title
