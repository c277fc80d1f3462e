"""Rules about time passing: a door held open, a door that has not opened, an alert nobody
took. Each run derives everything from the database, so a restart loses no timer and running
twice changes nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from shouwang.alerts import rules
from shouwang.alerts.models import Alert, AlertEntry, AlertStatus, Watch, WatchKind
from shouwang.alerts.services import announce
from shouwang.alerts.services.alerting import Trigger, raise_alerts
from shouwang.core.models import Household
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.devices.models import Device, DeviceEvent, DeviceStatus


def _open_alert_since(kind: str, subjects: list[str]) -> dict[str, datetime]:
    return dict(
        Alert.objects.filter(kind=kind, subject__in=subjects)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("subject", "last_occurred_at")
    )


def check_door_held_open(now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    book = rules.RuleBook([rules.DOOR_HELD_OPEN])
    devices = list(
        Device.objects.filter(
            status=DeviceStatus.INSTALLED,
            door="open",
            door_changed_at__lte=now - timedelta(minutes=1),
            household__isnull=False,
        ).select_related("household__area")
    )
    already = _open_alert_since(
        rules.DOOR_HELD_OPEN, [f"household:{d.household_id}" for d in devices]
    )
    names = ancestor_names([d.household.area for d in devices if d.household])
    triggers = []
    for device in devices:
        household = device.household
        if household is None or device.door_changed_at is None:  # excluded by the query
            continue
        setting = book.resolve(rules.DOOR_HELD_OPEN, household.area.path, household.pk)
        open_for = now - device.door_changed_at
        subject = f"household:{household.pk}"
        if not setting.enabled or open_for < timedelta(minutes=float(setting.params["minutes"])):
            continue
        if subject in already and already[subject] >= device.door_changed_at:
            continue  # this opening has already been alerted
        triggers.append(
            Trigger(
                kind=rules.DOOR_HELD_OPEN,
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


def _parse(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def active_time(
    start: datetime, end: datetime, active_from: time, active_until: time, zone: ZoneInfo
) -> timedelta:
    """How much of [start, end) falls inside the daily active hours, in the given zone.
    Nights do not count: an elderly person asleep is not inactive."""
    total = timedelta()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date()
    while day <= last_day:
        window_start = datetime.combine(day, active_from, zone)
        window_end = datetime.combine(day, active_until, zone)
        if active_until <= active_from:  # hours past midnight, e.g. 20:00-02:00
            window_end += timedelta(days=1)
        overlap = min(end, window_end) - max(start, window_start)
        if overlap > timedelta():
            total += overlap
        day += timedelta(days=1)
    return total


def check_care_inactivity(now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    watches = list(
        Watch.objects.filter(kind=WatchKind.CARE, paused=False, starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("household__area", "person")
    )
    if not watches:
        return []
    last_open: dict[int, datetime] = defaultdict(lambda: datetime.min.replace(tzinfo=zone))
    for household_id, at in (
        DeviceEvent.objects.filter(
            device__household_id__in={w.household_id for w in watches},
            device__status=DeviceStatus.INSTALLED,
            door="open",
        )
        .values("device__household_id")
        .annotate(at=Max("event_time"))
        .values_list("device__household_id", "at")
    ):
        last_open[household_id] = at
    book = rules.RuleBook([rules.CARE_INACTIVITY])
    subjects = [
        f"person:{w.person_id}" if w.person_id else f"household:{w.household_id}" for w in watches
    ]
    already = _open_alert_since(rules.CARE_INACTIVITY, subjects)
    names = ancestor_names([w.household.area for w in watches])
    triggers = []
    for watch, subject in zip(watches, subjects, strict=True):
        household: Household = watch.household
        setting = book.resolve(
            rules.CARE_INACTIVITY, household.area.path, household.pk, watch.person_id
        )
        params = {**setting.params, **watch.params}
        active_from, active_until = _parse(params["active_from"]), _parse(params["active_until"])
        local_now = now.astimezone(zone).time()
        in_hours = (
            active_from <= local_now < active_until
            if active_from < active_until
            else local_now >= active_from or local_now < active_until
        )
        since = max(last_open[household.pk], watch.starts_at)
        if not setting.enabled or not in_hours:
            continue
        quiet = active_time(since, now, active_from, active_until, zone)
        if quiet < timedelta(hours=float(params["inactive_hours"])):
            continue
        if subject in already and already[subject] >= since:
            continue
        triggers.append(
            Trigger(
                kind=rules.CARE_INACTIVITY,
                subject=subject,
                at=now,
                title=household_address(household, names),
                area=household.area,
                severity=setting.severity,
                household=household,
                person=watch.person,
                data={
                    "last_open": since.isoformat(),
                    "quiet_hours": round(quiet / timedelta(hours=1), 1),
                },
            )
        )
    with transaction.atomic():
        return raise_alerts(triggers)


def escalate_and_remind(now: datetime | None = None) -> int:
    """Unacknowledged alerts climb the area tree; open ones are re-sent at intervals."""
    now = now or timezone.now()
    book = rules.RuleBook([rules.ESCALATION])
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
            params = book.resolve(rules.ESCALATION, alert.area.path if alert.area else "").params
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
