"""The care watch: after the epidemic the same sensors watch over elderly people living alone.
An enrolment starts a care `Watch` (the inactivity rule reads its params), can be paused for
a hospital stay or travel and resumed, and ends; family contacts are kept encrypted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, identity
from shouwang.core.models import Person
from shouwang.core.permissions import require, require_area
from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.services.lifecycle import install_device
from shouwang.quarantine.models import CareEnrolment, FamilyContact, WatchKind
from shouwang.quarantine.perms import MANAGE_CARE
from shouwang.quarantine.services.watches import end_watch, set_watch_paused, start_watch


@dataclass
class Contact:
    name: str
    phone: str
    relation: str = ""
    notify: bool = True


@dataclass
class CareData:
    active_from: time = time(7, 0)
    active_until: time = time(21, 0)
    inactive_hours: Decimal = Decimal("12")
    device: Device | None = None
    contacts: Sequence[Contact] = ()


def _clean_contacts(contacts: Sequence[Contact]) -> list[Contact]:
    cleaned = []
    for number, contact in enumerate(contacts, start=1):
        name = " ".join(contact.name.split())[:50]
        if not name:
            raise ValidationError(
                {"contacts": [_("Contact %(n)d: the name is missing.") % {"n": number}]}
            )
        try:
            phone = identity.normalize_phone(contact.phone)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "contacts": [
                        _("Contact %(n)d: %(error)s") % {"n": number, "error": exc.messages[0]}
                    ]
                }
            ) from exc
        cleaned.append(Contact(name, phone, contact.relation.strip()[:30], contact.notify))
    return cleaned


def _params(data: CareData) -> dict[str, Any]:
    return {
        "inactive_hours": float(data.inactive_hours),
        "active_from": data.active_from.strftime("%H:%M"),
        "active_until": data.active_until.strftime("%H:%M"),
    }


def enrol(actor: Any, person: Person, data: CareData) -> CareEnrolment:
    require(actor, MANAGE_CARE)
    household = person.household
    require_area(actor, household.area.path)
    if not Decimal("1") <= data.inactive_hours <= Decimal("72"):
        raise ValidationError({"inactive_hours": [_("Between 1 and 72 hours.")]})
    if data.active_from == data.active_until:
        raise ValidationError({"active_until": [_("The active hours cannot be empty.")]})
    contacts = _clean_contacts(data.contacts)
    now = timezone.now()
    try:
        with transaction.atomic():
            if CareEnrolment.objects.filter(person=person, ended_at__isnull=True).exists():
                raise ValidationError(_("This person is already under care watch."))
            device = data.device
            if device is not None and not (
                device.status == DeviceStatus.INSTALLED and device.household_id == household.pk
            ):
                if device.status == DeviceStatus.INSTALLED:
                    raise ValidationError(
                        {"device": [_("This sensor is installed at another household.")]}
                    )
                install_device(actor, device, household, note=_("Care watch"))
            watch = start_watch(
                actor, WatchKind.CARE, household, person, starts_at=now, params=_params(data)
            )
            enrolment = CareEnrolment.objects.create(
                person=person,
                household=household,
                device=device,
                watch=watch,
                active_from=data.active_from,
                active_until=data.active_until,
                inactive_hours=data.inactive_hours,
                started_at=now,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            FamilyContact.objects.bulk_create(
                [
                    FamilyContact(
                        enrolment=enrolment,
                        name=c.name,
                        relation=c.relation,
                        phone=c.phone,
                        notify=c.notify,
                    )
                    for c in contacts
                ]
            )
            audit.record(
                "care.enrol",
                actor=actor,
                target=enrolment,
                area=household.area,
                details={
                    "person": person.pk,
                    "device": device.pk if device else None,
                    "contacts": len(contacts),
                    **_params(data),
                },
            )
    except IntegrityError as exc:
        raise ValidationError(_("This person is already under care watch.")) from exc
    return enrolment


def _check(actor: Any, enrolment: CareEnrolment) -> None:
    require(actor, MANAGE_CARE)
    require_area(actor, enrolment.household.area.path)
    if enrolment.ended_at is not None:
        raise ValidationError(_("This care watch has ended."))


def set_paused(
    actor: Any, enrolment: CareEnrolment, paused: bool, reason: str = ""
) -> CareEnrolment:
    """Pause (a hospital stay, travel: say why) or resume."""
    _check(actor, enrolment)
    reason = " ".join((reason or "").split())[:200]
    if paused and not reason:
        raise ValidationError({"reason": [_("Say why the watch pauses.")]})
    if enrolment.paused == paused:
        return enrolment
    with transaction.atomic():
        enrolment.paused = paused
        enrolment.pause_reason = reason if paused else ""
        enrolment.save(update_fields=["paused", "pause_reason"])
        if enrolment.watch is not None:
            set_watch_paused(actor, enrolment.watch, paused, reason)
        audit.record(
            "care.pause" if paused else "care.resume",
            actor=actor,
            target=enrolment,
            area=enrolment.household.area,
            details={"reason": reason},
        )
    return enrolment


def end_enrolment(actor: Any, enrolment: CareEnrolment, reason: str = "") -> CareEnrolment:
    _check(actor, enrolment)
    now = timezone.now()
    with transaction.atomic():
        enrolment.ended_at = now
        enrolment.save(update_fields=["ended_at"])
        if enrolment.watch is not None:
            end_watch(actor, enrolment.watch, at=now)
        audit.record(
            "care.end",
            actor=actor,
            target=enrolment,
            area=enrolment.household.area,
            details={"reason": reason[:200]},
        )
    return enrolment


def add_contact(actor: Any, enrolment: CareEnrolment, contact: Contact) -> FamilyContact:
    _check(actor, enrolment)
    (clean,) = _clean_contacts([contact])
    with transaction.atomic():
        row = FamilyContact.objects.create(
            enrolment=enrolment,
            name=clean.name,
            relation=clean.relation,
            phone=clean.phone,
            notify=clean.notify,
        )
        audit.record(
            "care.contact_add",
            actor=actor,
            target=enrolment,
            area=enrolment.household.area,
            details={"contact": row.pk, "phone": identity.mask_phone(clean.phone)},
        )
    return row


def notify_numbers(person_id: int) -> list[str]:
    """Phone numbers of family contacts who are told of alerts about this person."""
    return [
        c.phone
        for c in FamilyContact.objects.filter(
            enrolment__person_id=person_id, enrolment__ended_at__isnull=True, notify=True
        )
        if c.phone
    ]
