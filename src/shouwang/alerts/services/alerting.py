"""The alert lifecycle: raise (or add an occurrence), acknowledge, assign, comment, resolve.

One unresolved alert per subject and kind: a second trigger adds an occurrence instead of
flooding the worker. Every change is one transaction with its timeline entry and audit entry;
the live console and the notification channels hear of it only after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules
from shouwang.alerts.alert_kinds import ESCALATION
from shouwang.alerts.models import (
    Alert,
    AlertEntry,
    AlertStatus,
    Outcome,
    Severity,
    kinds_visible_to,
)
from shouwang.alerts.notify import trace
from shouwang.alerts.services import announce
from shouwang.core import audit
from shouwang.core.models import Area, Household, Person
from shouwang.core.permissions import require, require_area

HANDLE = "alerts.change_alert"
VIEW = "alerts.view_alert"
# Sending someone to the door and saying they got there: workers and the property office.
VISIT_DOOR = "alerts.visit_door"


@dataclass
class Trigger:
    """One reason to alert, as a rule found it."""

    kind: str
    subject: str
    at: datetime
    title: str
    area: Area | None
    severity: Severity
    household: Household | None = None
    person: Person | None = None
    device_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _escalation_times(
    book: rules.RuleBook, area: Area | None, at: datetime
) -> tuple[datetime, datetime]:
    """When an unacknowledged alert first climbs the tree, and when it is first re-sent."""
    params = book.resolve(ESCALATION, area.path if area else "").params
    return (
        at + timedelta(minutes=float(params["ack_minutes"])),
        at + timedelta(minutes=float(params["remind_minutes"])),
    )


def open_alert_since(kind: str, subjects: list[str]) -> dict[str, datetime]:
    """When each subject's unresolved alert of this kind last occurred: a timer rule alerts
    again only for something that happened after it."""
    return dict(
        Alert.objects.filter(kind=kind, subject__in=subjects)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("subject", "last_occurred_at")
    )


def raise_alerts(triggers: Sequence[Trigger]) -> list[Alert]:
    """Open alerts or add occurrences, for a batch of triggers, inside the caller's
    transaction. Queries: existing unresolved alerts (1), escalation settings (1), inserts."""
    if not triggers:
        return []
    book = rules.RuleBook([ESCALATION])
    existing = {
        (a.subject, a.kind): a
        for a in Alert.objects.select_for_update()
        .filter(
            subject__in={t.subject for t in triggers},
            kind__in={t.kind for t in triggers},
        )
        .exclude(status=AlertStatus.RESOLVED)
    }
    touched: dict[int, tuple[Alert, str]] = {}
    entries: list[AlertEntry] = []
    for trigger in sorted(triggers, key=lambda t: t.at):
        alert = existing.get((trigger.subject, trigger.kind))
        if alert is None:
            escalate_at, remind_at = _escalation_times(book, trigger.area, trigger.at)
            alert = Alert.objects.create(
                kind=trigger.kind,
                severity=trigger.severity,
                subject=trigger.subject,
                area=trigger.area,
                household=trigger.household,
                person=trigger.person,
                device_id=trigger.device_id,
                title=trigger.title[:200],
                opened_at=trigger.at,
                last_occurred_at=trigger.at,
                next_escalation_at=escalate_at,
                next_reminder_at=remind_at,
            )
            alert.opened_mono = trace.now()  # type: ignore[attr-defined]  # for the trace
            existing[(trigger.subject, trigger.kind)] = alert
            entries.append(
                AlertEntry(
                    alert=alert, at=trigger.at, kind=AlertEntry.Kind.OPENED, data=trigger.data
                )
            )
            touched[alert.pk] = (alert, "opened")
        else:
            Alert.objects.filter(pk=alert.pk).update(
                occurrences=F("occurrences") + 1, last_occurred_at=trigger.at
            )
            entries.append(
                AlertEntry(
                    alert=alert, at=trigger.at, kind=AlertEntry.Kind.OCCURRED, data=trigger.data
                )
            )
            touched.setdefault(alert.pk, (alert, "occurred"))
    AlertEntry.objects.bulk_create(entries)
    for alert, reason in touched.values():
        announce.after_change(alert, reason)
    return [a for a, _ in touched.values()]


def raise_alert(trigger: Trigger) -> Alert:
    """Outside a batch: its own transaction, retried once if another process opened the same
    alert at the same moment (the unique constraint decides who opened it)."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                return raise_alerts([trigger])[0]
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _locked(actor: Any, alert: Alert, perm: str = HANDLE) -> Alert:
    require(actor, perm)
    if alert.area is not None:
        require_area(actor, alert.area.path)
    kinds = kinds_visible_to(actor)
    if kinds is not None and alert.kind not in kinds:
        raise Http404
    return Alert.objects.select_for_update().get(pk=alert.pk)


def acknowledge(actor: Any, alert: Alert) -> Alert:
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert)
        if locked.status != AlertStatus.OPEN:
            return locked  # a second tap, or someone was quicker: nothing to do
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_at, locked.acknowledged_by = now, actor
        locked.next_escalation_at = locked.next_reminder_at = None
        if locked.assignee_id is None:
            locked.assignee = actor
        locked.save()
        AlertEntry.objects.create(
            alert=locked, at=now, kind=AlertEntry.Kind.ACKNOWLEDGED, actor=actor
        )
        audit.record("alert.acknowledge", actor=actor, target=locked, area=locked.area)
        announce.after_change(locked, "acknowledged")
    return locked


def assign(actor: Any, alert: Alert, assignee: Any) -> Alert:
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert)
        if locked.status == AlertStatus.RESOLVED:
            raise ValidationError(_("This alert is already resolved."))
        if locked.area is not None:
            require_area(assignee, locked.area.path)
        locked.assignee = assignee
        locked.save(update_fields=["assignee"])
        AlertEntry.objects.create(
            alert=locked,
            at=now,
            kind=AlertEntry.Kind.ASSIGNED,
            actor=actor,
            data={"assignee": assignee.get_username()},
        )
        audit.record(
            "alert.assign",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"assignee": assignee.pk},
        )
        announce.after_change(locked, "assigned")
    return locked


def comment(actor: Any, alert: Alert, text: str) -> AlertEntry:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("A comment cannot be empty."))
    with transaction.atomic():
        locked = _locked(actor, alert)
        entry = AlertEntry.objects.create(
            alert=locked,
            at=timezone.now(),
            kind=AlertEntry.Kind.COMMENTED,
            actor=actor,
            text=text[:2000],
        )
        audit.record("alert.comment", actor=actor, target=locked, area=locked.area)
        announce.after_change(locked, "commented")
    return entry


def resolve(actor: Any, alert: Alert, outcome: str, note: str = "") -> Alert:
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Choose what happened.")]})
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert)
        if locked.status == AlertStatus.RESOLVED:
            raise ValidationError(_("This alert is already resolved."))
        if locked.acknowledged_at is None:
            locked.acknowledged_at, locked.acknowledged_by = now, actor
        locked.status = AlertStatus.RESOLVED
        locked.resolved_at, locked.resolved_by = now, actor
        locked.outcome, locked.note = outcome, note[:2000]
        locked.next_escalation_at = locked.next_reminder_at = None
        locked.save()
        AlertEntry.objects.create(
            alert=locked,
            at=now,
            kind=AlertEntry.Kind.RESOLVED,
            actor=actor,
            text=note[:2000],
            data={"outcome": outcome},
        )
        audit.record(
            "alert.resolve",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"outcome": outcome},
        )
        announce.after_change(locked, "resolved")
    return locked


def clear(subject: str, kind: str, at: datetime, why: str) -> Alert | None:
    """The condition went away by itself (sensor back online, tamper switch closed): resolve
    the unresolved alert with the outcome "cleared", inside the caller's transaction."""
    alert = (
        Alert.objects.select_for_update()
        .filter(subject=subject, kind=kind)
        .exclude(status=AlertStatus.RESOLVED)
        .first()
    )
    if alert is None:
        return None
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at, alert.outcome, alert.note = at, Outcome.CLEARED, why
    alert.next_escalation_at = alert.next_reminder_at = None
    alert.save()
    AlertEntry.objects.create(
        alert=alert,
        at=at,
        kind=AlertEntry.Kind.RESOLVED,
        text=why,
        data={"outcome": Outcome.CLEARED},
    )
    announce.after_change(alert, "resolved")
    return alert


def note_on_alert(
    alert: Alert,
    kind: str,
    at: datetime,
    *,
    actor: Any = None,
    text: str = "",
    data: dict[str, Any] | None = None,
) -> AlertEntry:
    """A step taken elsewhere that belongs on the alert's timeline (its quarantine case
    ended), inside the caller's transaction. The alert itself is left as it is."""
    entry = AlertEntry.objects.create(
        alert=alert,
        at=at,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        text=text[:2000],
        data=data or {},
    )
    announce.after_change(alert, kind)
    return entry


# --- from the alert to the door (上门) ----------------------------------------------------


def record_call(actor: Any, alert: Alert, callee: Person) -> Alert:
    """The worker called the resident about this alert (the number was just revealed). The
    first call is the alert's "time to call"; every call is on its timeline."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert, VIEW)
        if locked.called_at is None:
            locked.called_at = now
            locked.save(update_fields=["called_at"])
        AlertEntry.objects.create(
            alert=locked,
            at=now,
            kind=AlertEntry.Kind.CALLED,
            actor=actor if getattr(actor, "pk", None) else None,
            data={"person": callee.pk, "name": callee.masked_name},
        )
        audit.record(
            "alert.call",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"person": callee.pk},
        )
        announce.after_change(locked, "called")
    return locked


def dispatch_to_door(actor: Any, alert: Alert, sent: str, note: str = "") -> Alert:
    """The property office (or a worker) sends someone up to the door. Someone is now on it:
    an alert nobody had acknowledged counts as acknowledged by the dispatcher, and stops
    escalating."""
    sent = " ".join((sent or "").split())[:100]
    note = (note or "").strip()[:2000]
    if not sent:
        raise ValidationError({"sent": [_("Say who goes to the door.")]})
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert, VISIT_DOOR)
        if locked.status == AlertStatus.RESOLVED:
            raise ValidationError(_("This alert is already resolved."))
        if locked.arrived_at is not None:
            raise ValidationError(_("Someone is already at the door for this alert."))
        _someone_on_it(locked, actor, now)
        if locked.dispatched_at is None:
            locked.dispatched_at = now
        locked.dispatched_to = sent
        _door_step(locked, actor, now, AlertEntry.Kind.DISPATCHED, note, {"sent": sent})
    return locked


# What a person at the door can find (the system's own "cleared" is not one of them).
DOOR_OUTCOMES = [o for o in Outcome if o != Outcome.CLEARED]


def record_arrival(actor: Any, alert: Alert, outcome: str, note: str = "") -> Alert:
    """Someone stood at the door, and this is what they found. The alert stays open for the
    worker to close (with the call and the door visit both on its timeline)."""
    if outcome not in DOOR_OUTCOMES:
        raise ValidationError({"outcome": [_("Choose what was found at the door.")]})
    note = (note or "").strip()[:2000]
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, alert, VISIT_DOOR)
        if locked.status == AlertStatus.RESOLVED:
            raise ValidationError(_("This alert is already resolved."))
        if locked.arrived_at is not None:
            raise ValidationError(_("The arrival at the door is already recorded."))
        _someone_on_it(locked, actor, now)
        locked.arrived_at, locked.arrival_outcome = now, outcome
        _door_step(locked, actor, now, AlertEntry.Kind.ARRIVED, note, {"outcome": outcome})
    return locked


def _someone_on_it(locked: Alert, actor: Any, now: datetime) -> None:
    """An alert nobody had acknowledged counts as acknowledged by whoever acts on it (someone
    sent to the door, an arrival), and stops escalating."""
    if locked.status == AlertStatus.OPEN:
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_at, locked.acknowledged_by = now, actor
        locked.next_escalation_at = locked.next_reminder_at = None


# A step on the way to the door: its timeline entry, audit action and live-bus reason.
_DOOR_STEPS = {
    AlertEntry.Kind.DISPATCHED: ("alert.dispatch", "dispatched"),
    AlertEntry.Kind.ARRIVED: ("alert.arrive", "arrived"),
}


def _door_step(
    locked: Alert,
    actor: Any,
    now: datetime,
    kind: AlertEntry.Kind,
    note: str,
    details: dict[str, Any],
) -> None:
    """Saves the alert with its timeline entry and audit entry (the caller's transaction),
    announced on commit."""
    action, reason = _DOOR_STEPS[kind]
    locked.save()
    AlertEntry.objects.create(
        alert=locked,
        at=now,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        text=note,
        data=details,
    )
    audit.record(action, actor=actor, target=locked, area=locked.area, details=details)
    announce.after_change(locked, reason)
