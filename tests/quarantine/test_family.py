"""A care-watch alert reaches the person's family contacts by template SMS, through the SMS
channel of the person's community; a refusal is kept for a person to see. The family is a
kind of recipient of the alerts' one delivery engine: same sender, rate limit, retries."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from shouwang.alerts.models import Delivery
from shouwang.alerts.notify import recipients, sender
from shouwang.quarantine.alert_kinds import check_care_inactivity
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


def family_notice() -> Delivery:
    return Delivery.objects.get(recipient_kind=family.KIND)


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
    with committed(execute=False):
        (alert,) = check_care_inactivity()
    notice = family_notice()
    assert notice.alert == alert
    assert notice.status == Delivery.Status.PENDING  # planned in the alert's transaction
    report = sender.run_due()  # what the wake on commit does, in this thread
    assert report.sent == 2  # the staff's SMS channel, and the son; not the daughter
    notice.refresh_from_db()
    assert notice.status == Delivery.Status.SENT
    family_sms = [r for r in receiver.received if r.form["PhoneNumbers"] == "13911112222"]
    assert len(family_sms) == 1
    assert json.loads(family_sms[0].form["TemplateParam"])["kind"]
    assert "13933334444" not in "".join(r.form["PhoneNumbers"] for r in receiver.received)
    # Running again sends nothing twice.
    assert sender.run_due().messages == 0
    assert len(receiver.received) == 2


def test_without_an_sms_channel_the_notice_fails_visibly(
    town: Town, clock: time_machine.Coordinates, committed: Any
) -> None:
    _enrol(town, Contact("张小明", "13911112222"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=True):
        check_care_inactivity()
    notice = family_notice()
    assert notice.status == Delivery.Status.FAILED
    assert notice.last_error == "该区域没有短信渠道"
    assert notice.channel is None


def test_a_busy_provider_is_retried_later(
    town: Town, receiver: Receiver, clock: time_machine.Coordinates, committed: Any
) -> None:
    receiver.answer(OK, (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "busy"}))
    make_channel(town, "sms", aliyun_target(receiver))
    _enrol(town, Contact("张小明", "13911112222"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=False):
        check_care_inactivity()
    sender.run_due()
    notice = family_notice()
    assert notice.status == Delivery.Status.PENDING
    assert notice.attempts == 1
    assert "BUSINESS_LIMIT_CONTROL" in notice.last_error  # the provider's reason, kept
    receiver.answer(OK)
    assert sender.run_due().messages == 0  # not due yet: a rate limit waits a minute at least
    clock.move_to(T0 + timedelta(hours=7, minutes=3))
    assert sender.run_due().sent == 1
    notice.refresh_from_db()
    assert notice.status == Delivery.Status.SENT
    assert notice.attempts == 2


def test_a_refusal_fails_at_once_and_a_deleted_contact_is_not_texted(
    town: Town, receiver: Receiver, clock: time_machine.Coordinates, committed: Any
) -> None:
    receiver.answer(OK, (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}))
    make_channel(town, "sms", aliyun_target(receiver))
    _enrol(town, Contact("张小明", "13911112222"), Contact("李四", "13955556666"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=False):
        check_care_inactivity()
    first, second = Delivery.objects.filter(recipient_kind=family.KIND).order_by("id")
    # The second contact is removed before anything is sent: nobody texts a stale number.
    from shouwang.quarantine.models import FamilyContact

    FamilyContact.objects.filter(pk=second.recipient_ref).delete()
    sender.run_due()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Delivery.Status.FAILED
    assert "MOBILE_NUMBER_ILLEGAL" in first.last_error
    assert "13911112222" not in first.last_error  # errors never hold a number in full
    assert second.status == Delivery.Status.FAILED
    assert second.last_error == "联系人已删除"
    assert "13955556666" not in "".join(r.form["PhoneNumbers"] for r in receiver.received)


def test_a_family_sms_never_joins_a_digest_of_other_alerts(
    town: Town, receiver: Receiver, clock: time_machine.Coordinates, committed: Any
) -> None:
    """At the channel's last free message a burst becomes one digest, but a contact still
    gets their own relative's message only."""
    receiver.answer(*[OK] * 10)
    make_channel(town, "sms", aliyun_target(receiver), per_minute=1)
    _enrol(town, Contact("张小明", "13911112222"))
    clock.move_to(T0 + timedelta(hours=7))
    with committed(execute=False):
        check_care_inactivity()
    sender.run_due()  # gathers for a few seconds first
    clock.move_to(T0 + timedelta(hours=7, seconds=10))
    sender.run_due()
    clock.move_to(T0 + timedelta(hours=7, minutes=2))
    sender.run_due()
    to_family = [r for r in receiver.received if r.form["PhoneNumbers"] == "13911112222"]
    assert len(to_family) == 1
    assert family_notice().status == Delivery.Status.SENT


def test_the_family_source_is_registered_once() -> None:
    kinds = [s.kind for s in recipients.sources()]
    assert kinds.count(family.KIND) == 1
    with pytest.raises(ValueError, match="already registered"):
        recipients.register(family.FamilyContacts())
