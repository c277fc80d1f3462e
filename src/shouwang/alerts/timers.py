"""Rules about time passing: a door held open and an alert nobody took; the timer rules
other apps register (`alerts.registry.register_timer_rule`: the care watch's inactivity) run
beside them from `alerts.tasks.check_alert_timers`. Each run derives everything from the
database, so a restart loses no timer and running twice changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shouwang.alerts import rules
from shouwang.alerts.alert_kinds import ESCALATION
from shouwang.alerts.models import Alert, AlertEntry, AlertStatus
from shouwang.alerts.services import announce
from shouwang.alerts.services.alerting import Trigger, open_alert_since, raise_alerts
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.devices.alert_kinds import DOOR_HELD_OPEN
from shouwang.devices.models import Device, DeviceStatus


def check_door_held_open(now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    book = rules.RuleBook([DOOR_HELD_OPEN])
    devices = list(
        Device.objects.filter(
            status=DeviceStatus.INSTALLED,
            door="open",
            door_changed_at__lte=now - timedelta(minutes=1),
            household__isnull=False,
        ).select_related("household__area")
    )
    already = open_alert_since(DOOR_HELD_OPEN, [f"household:{d.household_id}" for d in devices])
    names = ancestor_names([d.household.area for d in devices if d.household])
    triggers = []
    for device in devices:
        household = device.household
        if household is None or device.door_changed_at is None:  # excluded by the query
            continue
        setting = book.resolve(DOOR_HELD_OPEN, household.area.path, household.pk)
        open_for = now - device.door_changed_at
        subject = f"household:{household.pk}"
        if not setting.enabled or open_for < timedelta(minutes=float(setting.params["minutes"])):
            continue
        if subject in already and already[subject] >= device.door_changed_at:
            continue  # this opening has already been alerted
        triggers.append(
            Trigger(
                kind=DOOR_HELD_OPEN,
                subject=subject,
                at=now,
                title=household_address(household, names),
                area=household.area,
                severity=setting.severity,
                household=household,
                device_id=device.pk,
                data={
                    "open_since": device.door_changed_at.isoformat(),
                    "minutes": int(open_for.total_seconds() // 60),
                },
            )
        )
    with transaction.atomic():
        return raise_alerts(triggers)


def escalate_and_remind(now: datetime | None = None) -> int:
    """Unacknowledged alerts climb the area tree; open ones are re-sent at intervals."""
    now = now or timezone.now()
    book = rules.RuleBook([ESCALATION])
    changed = 0
    with transaction.atomic():
        due = (
            # of=self: PostgreSQL cannot lock the nullable side of the join to area.
            Alert.objects.select_for_update(of=("self",))
            .select_related("area")
            .filter(status=AlertStatus.OPEN)
            .filter(Q(next_escalation_at__lte=now) | Q(next_reminder_at__lte=now))
        )
        for alert in due:
            params = book.resolve(ESCALATION, alert.area.path if alert.area else "").params
            if alert.next_escalation_at is not None and alert.next_escalation_at <= now:
                alert.escalation_level += 1
                top = alert.escalation_level >= int(params["max_level"])
                alert.next_escalation_at = (
                    None if top else now + timedelta(minutes=float(params["ack_minutes"]))
                )
                AlertEntry.objects.create(
                    alert=alert,
                    at=now,
                    kind=AlertEntry.Kind.ESCALATED,
                    data={"level": alert.escalation_level},
                )
                alert.save(update_fields=["escalation_level", "next_escalation_at"])
                announce.after_change(alert, "escalated")
                changed += 1
            elif alert.next_reminder_at is not None and alert.next_reminder_at <= now:
                alert.next_reminder_at = now + timedelta(minutes=float(params["remind_minutes"]))
                AlertEntry.objects.create(alert=alert, at=now, kind=AlertEntry.Kind.REMINDED)
                alert.save(update_fields=["next_reminder_at"])
                announce.after_change(alert, "reminded")
                changed += 1
    return changed
