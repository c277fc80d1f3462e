"""A quarantine case's life: started (with its sensor), extended or shortened, served, ended,
and its sensor taken back. Each step is one audited action in one transaction.

A case drives exactly one quarantine `Watch` for its household while it is active: the door
rule of the alerts app applies from the start until the case ends, whatever the planned end
says (a case past its planned end stays watched until a worker ends it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules as alert_rules
from shouwang.alerts.models import Alert, AlertEntry, AlertStatus
from shouwang.alerts.services import suppression
from shouwang.alerts.services.alerting import clear, note_on_alert
from shouwang.core import audit
from shouwang.core.models import Household, Person, Tag
from shouwang.core.permissions import require, require_area
from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.services.lifecycle import install_device, recover_device
from shouwang.quarantine import alert_kinds as kinds
from shouwang.quarantine.models import (
    Case,
    CaseEndChange,
    CaseMember,
    CaseStatus,
    ServiceKind,
    ServiceRecord,
    Source,
    Watch,
    WatchKind,
)
from shouwang.quarantine.perms import MANAGE_CASES
from shouwang.quarantine.services.watches import end_watch, start_watch

QUARANTINE_TAG = "under_quarantine"
LONGEST_DAYS = 60
ENDINGS = {
    CaseStatus.COMPLETED,
    CaseStatus.TRANSFERRED,
    CaseStatus.ENDED_EARLY,
    CaseStatus.LOST,
}
# Ending a case other than by completing it changes a person's status early: say why.
_NEEDS_REASON = {CaseStatus.TRANSFERRED, CaseStatus.ENDED_EARLY, CaseStatus.LOST}


def default_days(household: Household) -> int:
    """The area's configured quarantine length (RuleSetting "quarantine_case", days)."""
    book = alert_rules.RuleBook([kinds.QUARANTINE_CASE])
    params = book.resolve(kinds.QUARANTINE_CASE, household.area.path, household.pk).params
    return int(params["days"])


def planned_end_of(starts_on: date, days: int) -> date:
    """The last day at home: 14 days from 1 March end on 14 March."""
    return starts_on + timedelta(days=days - 1)


@dataclass
class CaseData:
    people: Sequence[Person]
    source: str
    reason: str = ""
    starts_on: date | None = None
    days: int | None = None
    device: Device | None = None
    no_device_reason: str = ""


def _check(actor: Any, case: Case) -> None:
    require(actor, MANAGE_CASES)
    require_area(actor, case.area.path)


def _attach_device(actor: Any, case: Case, device: Device, household: Household) -> None:
    """Install a sensor from stock, or adopt the one already at this door (a care watch's)."""
    if device.status == DeviceStatus.INSTALLED and device.household_id == household.pk:
        case.installed_by_case = False
    elif device.status == DeviceStatus.INSTALLED:
        raise ValidationError({"device": [_("This sensor is installed at another household.")]})
    else:
        install_device(actor, device, household, note=_("Home quarantine"))
        case.installed_by_case = True
    case.device = device
    case.no_device_reason = ""


def start_case(actor: Any, household: Household, data: CaseData) -> Case:
    require(actor, MANAGE_CASES)
    require_area(actor, household.area.path)
    errors: dict[str, list[str]] = {}
    people = list(data.people)
    if not people:
        errors["people"] = [_("Choose who is under quarantine.")]
    elif any(p.household_id != household.pk for p in people):
        errors["people"] = [_("Everyone in a case must live in this household.")]
    if data.source not in Source.values:
        errors["source"] = [_("Choose why the household is under quarantine.")]
    days = data.days if data.days is not None else default_days(household)
    if not 1 <= days <= LONGEST_DAYS:
        errors["days"] = [_("A quarantine lasts 1 to %(n)d days.") % {"n": LONGEST_DAYS}]
    today = timezone.localdate()
    starts_on = data.starts_on or today
    if starts_on > today + timedelta(days=7) or starts_on < today - timedelta(days=LONGEST_DAYS):
        errors["starts_on"] = [_("The start date is too far from today.")]
    if data.device is None and not data.no_device_reason.strip():
        errors["device"] = [_("Choose a sensor, or say why none was installed.")]
    if errors:
        raise ValidationError(errors)
    reason = " ".join(data.reason.split())[:200]
    now = timezone.now()
    try:
        with transaction.atomic():
            busy = CaseMember.objects.filter(
                person__in=people, case__status=CaseStatus.ACTIVE
            ).exists()
            if busy or Case.objects.filter(household=household, status=CaseStatus.ACTIVE).exists():
                raise ValidationError(
                    _("This household already has an active case: extend it instead.")
                )
            case = Case(
                area=household.area,
                household=household,
                source=data.source,
                reason=reason,
                starts_on=starts_on,
                duration_days=days,
                planned_end=planned_end_of(starts_on, days),
                started_at=now,
                people_count=len(people),
                no_device_reason=data.no_device_reason.strip()[:200],
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            if data.device is not None:
                _attach_device(actor, case, data.device, household)
            case.watch = start_watch(actor, WatchKind.QUARANTINE, household, starts_at=now)
            case.save()
            CaseMember.objects.bulk_create([CaseMember(case=case, person=p) for p in people])
            tag = Tag.objects.filter(code=QUARANTINE_TAG).first()
            if tag is not None:
                tag.people.add(*people)
            audit.record(
                "quarantine.start",
                actor=actor,
                target=case,
                area=household.area,
                details={
                    "household": household.pk,
                    "people": [p.pk for p in people],
                    "source": data.source,
                    "days": days,
                    "device": data.device.pk if data.device else None,
                },
            )
    except IntegrityError as exc:  # another worker opened a case for it at the same moment
        raise ValidationError(
            _("This household already has an active case: extend it instead.")
        ) from exc
    return case


def install_sensor(actor: Any, case: Case, device: Device) -> Case:
    """A sensor for a case that started without one (none was available then)."""
    _check(actor, case)
    if not case.is_active:
        raise ValidationError(_("This case has ended."))
    if case.device_id is not None:
        raise ValidationError(_("This case already has a sensor."))
    if case.household is None:
        raise ValidationError(_("This case has no household any more."))
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.device_id is not None:
            raise ValidationError(_("This case already has a sensor."))
        _attach_device(actor, locked, device, case.household)
        locked.save(update_fields=["device", "installed_by_case", "no_device_reason"])
        audit.record(
            "quarantine.install_sensor",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"device": device.pk},
        )
    case.refresh_from_db()
    return case


def change_end(actor: Any, case: Case, new_end: date, reason: str) -> Case:
    """Extend or shorten: the previous end is kept with the reason."""
    _check(actor, case)
    reason = " ".join((reason or "").split())[:200]
    errors: dict[str, list[str]] = {}
    if not case.is_active:
        errors["new_end"] = [_("This case has ended.")]
    elif new_end == case.planned_end:
        errors["new_end"] = [_("This is already the planned end.")]
    elif new_end < case.starts_on:
        errors["new_end"] = [_("The end cannot be before the start.")]
    elif (new_end - case.starts_on).days + 1 > LONGEST_DAYS:
        errors["new_end"] = [_("A quarantine lasts 1 to %(n)d days.") % {"n": LONGEST_DAYS}]
    if not reason:
        errors["reason"] = [_("Say why the end changes.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.planned_end != case.planned_end or not locked.is_active:
            raise ValidationError(_("Someone else has just changed this case. Reload it."))
        CaseEndChange.objects.create(
            case=locked,
            previous_end=locked.planned_end,
            new_end=new_end,
            reason=reason,
            changed_by=actor if getattr(actor, "pk", None) else None,
            changed_at=timezone.now(),
        )
        previous = locked.planned_end
        locked.planned_end = new_end
        locked.save(update_fields=["planned_end"])
        audit.record(
            "quarantine.change_end",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"from": previous.isoformat(), "to": new_end.isoformat(), "reason": reason},
        )
    case.refresh_from_db()
    return case


def end_case(actor: Any, case: Case, status: str, reason: str = "") -> Case:
    """Complete (期满解除, from the planned last day on), transfer, end early or mark lost.

    The door rule stops and an installed sensor is due for recovery today. The case's door and
    fever alerts are not closed: whoever handles them closes them with what happened, and
    their timelines say the case ended. Only "health check missed" alerts are cleared, since
    no check is due any more.
    """
    _check(actor, case)
    reason = " ".join((reason or "").split())[:200]
    if status not in ENDINGS:
        raise ValidationError({"status": [_("Choose how the case ends.")]})
    if status in _NEEDS_REASON and not reason:
        raise ValidationError({"reason": [_("Say why the case ends this way.")]})
    today = timezone.localdate()
    if status == CaseStatus.COMPLETED and today < case.planned_end:
        raise ValidationError(
            {
                "status": [
                    _(
                        "The quarantine has not run its course: it ends on %(date)s. To release "
                        "the household earlier, choose “Ended early” and say why."
                    )
                    % {"date": case.planned_end.isoformat()}
                ]
            }
        )
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if not locked.is_active:
            raise ValidationError(_("This case has already ended."))
        if status == CaseStatus.COMPLETED and today < locked.planned_end:
            raise ValidationError(_("Someone else has just changed this case. Reload it."))
        locked.status = status
        locked.ended_at, locked.end_reason = now, reason
        locked.ended_by = actor if getattr(actor, "pk", None) else None
        if locked.device_id is not None and locked.installed_by_case:
            locked.recovery_due = timezone.localdate()
        locked.save()
        if locked.watch is not None and (
            locked.watch.ends_at is None or locked.watch.ends_at > now
        ):
            end_watch(actor, locked.watch, at=now)
        people = list(Person.objects.filter(quarantine_memberships__case=locked))
        for person in people:
            clear(
                f"person:{person.pk}",
                kinds.HEALTH_CHECK_MISSED,
                now,
                _("Quarantine case ended"),
            )
        label = str(CaseStatus(status).label)
        for alert in open_alerts_for([locked]):
            note_on_alert(
                alert,
                AlertEntry.Kind.CASE_ENDED,
                now,
                actor=actor,
                text=(
                    _("%(status)s: %(reason)s") % {"status": label, "reason": reason}
                    if reason
                    else label
                ),
                data={"case": locked.pk, "status": status},
            )
        tag = Tag.objects.filter(code=QUARANTINE_TAG).first()
        if tag is not None:
            tag.people.remove(*people)
        locked.links.filter(revoked_at__isnull=True).update(revoked_at=now)
        audit.record(
            "quarantine.end",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"status": status, "reason": reason},
        )
    case.refresh_from_db()
    return case


def record_recovery(actor: Any, case: Case, note: str = "") -> Case:
    """The worker took the sensor back: it returns to the community's stock."""
    _check(actor, case)
    if case.is_active:
        raise ValidationError(_("End the case before taking the sensor back."))
    if case.device is None or not case.installed_by_case:
        raise ValidationError(_("This case has no sensor to take back."))
    if case.recovered_at is not None:
        raise ValidationError(_("The sensor has already been taken back."))
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.recovered_at is not None:
            raise ValidationError(_("The sensor has already been taken back."))
        device = Device.objects.get(pk=case.device.pk)
        if device.status == DeviceStatus.INSTALLED and device.household_id == case.household_id:
            recover_device(actor, device, note=note)
        locked.recovered_at = timezone.now()
        locked.save(update_fields=["recovered_at"])
        audit.record(
            "quarantine.recover_sensor",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"device": device.pk},
        )
    case.refresh_from_db()
    return case


def log_service(
    actor: Any,
    case: Case,
    kind: str,
    at: datetime,
    note: str = "",
    minutes: int = 15,
    scheduled: bool = False,
) -> ServiceRecord:
    """A delivery, garbage collection, supplies or a test at the door. A scheduled one
    registers the door opening it causes, so the door rule does not alert for it."""
    _check(actor, case)
    note = " ".join((note or "").split())[:200]
    errors: dict[str, list[str]] = {}
    if kind not in ServiceKind.values:
        errors["kind"] = [_("Choose the kind of service.")]
    if not 1 <= minutes <= 12 * 60:
        errors["minutes"] = [_("Between 1 minute and 12 hours.")]
    if not case.is_active:
        errors["kind"] = [_("This case has ended.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        window = None
        if scheduled and case.household is not None:
            reason = {"garbage": "garbage", "delivery": "delivery", "test": "test"}.get(
                kind, "other"
            )
            window = suppression.add_window(
                actor,
                case.household,
                at,
                at + timedelta(minutes=minutes),
                reason,
                note if reason != "other" else (note or str(ServiceKind(kind).label)),
            )
        record = ServiceRecord.objects.create(
            case=case,
            kind=kind,
            at=at,
            minutes=minutes,
            note=note,
            suppression=window,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            "quarantine.service",
            actor=actor,
            target=case,
            area=case.area,
            details={"kind": kind, "at": at.isoformat(), "scheduled": scheduled},
        )
    return record


def open_alerts_for(cases: Sequence[Case]) -> list[Alert]:
    """Unresolved alerts about these cases' households and people, newest first."""
    subjects = [f"household:{c.household_id}" for c in cases if c.household_id]
    subjects += [
        f"person:{pk}"
        for pk in CaseMember.objects.filter(case__in=cases).values_list("person_id", flat=True)
    ]
    return list(
        Alert.objects.filter(subject__in=subjects)
        .exclude(status=AlertStatus.RESOLVED)
        .order_by("-last_occurred_at")
    )


def active_watch(case: Case) -> Watch | None:
    return case.watch if case.is_active else None
