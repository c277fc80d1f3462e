"""A care-watch alert reaches the person's family contacts by template SMS, through the SMS
channel of the person's community; a refusal is kept for a person to see."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from shouwang.alerts.notify import sender
from shouwang.alerts.timers import check_care_inactivity
from shouwang.quarantine.models import FamilyNotice
from shouwang.quarantine.services import care, family
from shouwang.quarantine.services.care import CareData, Contact
from tests.alerts.test_notify import Receiver, aliyun_target, make_channel, receiver
from tests.conftest import Town
from tests.quarantine.conftest import T0

__all__ = ["receiver"]  # the fixture, imported from the alerts' tests


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


OK = (200, {"Code": "OK", "Message": "OK", "BizId": "1^0"})


def _enrol(town: Town, *contacts: Contact) -> None:
    care.enrol(
        town.east_worker,
        town.east_person,
        CareData(inactive_hours=Decimal("6"), contacts=list(contacts)),
    )


def test_family_contacts_get_an_sms_when_the_care_alert_opens(
    town: Town, receiver: Receiver, clock: time_machine.Coordinates, committed: Any
) -> None:
    receiver.answer(OK, OK, OK, OK)
    make_channel(town, "sms", aliyun_target(receiver))
    _enrol(
        town,
        Contact("张小明", "13911112222", "儿子"),
        Contact("张小红", "13933334444", "女儿", notify=False),
    )
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=True):  # sent once the alert is committed
        (alert,) = check_care_inactivity()
    notice = FamilyNotice.objects.get()
    assert notice.status == FamilyNotice.Status.SENT
    assert notice.alert == alert
    sender.run_due()  # the staff channel's own delivery
    family_sms = [r for r in receiver.received if r.form["PhoneNumbers"] == "13911112222"]
    assert len(family_sms) == 1
    assert "13933334444" not in "".join(r.form["PhoneNumbers"] for r in receiver.received)
    # Running again sends nothing twice.
    assert family.send_due() == 0


def test_without_an_sms_channel_the_notice_fails_visibly(
    town: Town, clock: time_machine.Coordinates, committed: Any
) -> None:
    _enrol(town, Contact("张小明", "13911112222"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=True):
        check_care_inactivity()
    notice = FamilyNotice.objects.get()
    assert notice.status == FamilyNotice.Status.FAILED
    assert notice.last_error == "该区域没有短信渠道"


def test_a_busy_provider_is_retried_later(
    town: Town, receiver: Receiver, clock: time_machine.Coordinates, committed: Any
) -> None:
    receiver.answer((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "busy"}))
    make_channel(town, "sms", aliyun_target(receiver))
    _enrol(town, Contact("张小明", "13911112222"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=True):
        check_care_inactivity()
    notice = FamilyNotice.objects.get()
    assert notice.status == FamilyNotice.Status.PENDING
    assert notice.attempts == 1
    receiver.answer(OK)
    assert family.send_due() == 0  # not due yet
    clock.move_to(T0 + timedelta(hours=7, minutes=3))
    assert family.send_due() == 1
    notice.refresh_from_db()
    assert notice.status == FamilyNotice.Status.SENT
