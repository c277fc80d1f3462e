"""The quarantine app's alert kinds, their area settings, and the two rules that read its
`Watch`; found by the alerts engine's `autodiscover_modules("alert_kinds")`.

- `door_open_triggers` (ingest rule): a door opens in a household under home quarantine,
  outside any expected opening; runs inside the ingest transaction, so the alert commits with
  the event. Queries per batch, not per event.
- `check_care_inactivity` (timer rule, every minute): an elderly person's door has not opened
  for longer than their setting allows, counting only the daily active hours.

Settings are inherited down the area tree like every kind's (`alerts.models.RuleSetting`), so
a town sets 14 days and a community that follows a stricter order sets 21.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.alerts.models import Alert, SuppressionWindow
from shouwang.alerts.registry import register_ingest_rule, register_timer_rule
from shouwang.alerts.rules import RuleBook
from shouwang.alerts.services.alerting import Trigger, open_alert_since, raise_alerts
from shouwang.core.kinds import AlertKind, Severity, declare
from shouwang.core.models import Household
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.devices.models import DeviceEvent, DeviceStatus
from shouwang.devices.services.ingest import IngestResult
from shouwang.quarantine.models import Watch, WatchKind

QUARANTINE_DOOR_OPEN = "quarantine_door_open"
CARE_INACTIVITY = "care_inactivity"
HEALTH_CHECK_MISSED = "health_check_missed"
FEVER = "fever"
# Settings only: a case's default length and how long its personal data is kept after it.
QUARANTINE_CASE = "quarantine_case"

declare(
    AlertKind(QUARANTINE_DOOR_OPEN, _("Door opened during home quarantine"), Severity.CRITICAL),
    AlertKind(
        CARE_INACTIVITY,
        _("Door not opened for a long time"),
        Severity.CRITICAL,
        {"inactive_hours": 12, "active_from": "07:00", "active_until": "21:00"},
    ),
    AlertKind(
        HEALTH_CHECK_MISSED,
        _("Health check missed"),
        Severity.WARNING,
        # A check is due twice a day: the morning one by `morning_until`, the afternoon one
        # by `afternoon_until` (local time).
        {"morning_until": "12:00", "afternoon_until": "20:00"},
    ),
    AlertKind(FEVER, _("Fever during home quarantine"), Severity.CRITICAL, {"threshold": 37.3}),
    AlertKind(
        QUARANTINE_CASE,
        _("Home quarantine case settings"),
        Severity.INFO,
        {"days": 14, "retention_days": 30},
        settings_only=True,
    ),
)


def parse_time(text: str) -> time:
    hour, minute = str(text).split(":")
    return time(int(hour), int(minute))


W = TypeVar("W", Watch, SuppressionWindow)


def _active(windows: Iterable[W], at: datetime) -> W | None:
    for window in windows:
        if window.starts_at <= at and (window.ends_at is None or at < window.ends_at):
            return window
    return None


def _under_quarantine(
    household_ids: set[int], first: datetime, last: datetime
) -> tuple[set[int], set[int]]:
    """Which of these households have a quarantine watch overlapping [first, last], and which
    of those also have a suppression window overlapping it.

    This runs for every ingest batch with a door opening in it, on the one writer, and the
    answer is nearly always "none" (most sensors watch elderly people or nobody): one short
    hand-written statement instead of ORM queries, whose compiling cost more than running
    them (a third of the writer's time at 500 msg/s in bench/door_to_alert.py). Only a batch
    that concerns a quarantined household loads its watches, and its suppression windows only
    if it has any, by ORM."""
    ops = connection.ops
    ids = sorted(household_ids)
    watch, window = ops.quote_name(_WATCH_TABLE), ops.quote_name(_WINDOW_TABLE)
    placeholders = ", ".join(["%s"] * len(ids))
    # Only placeholders and our own quoted table names are formatted in.
    sql = (
        f"SELECT DISTINCT w.household_id, EXISTS (SELECT 1 FROM {window} s"  # noqa: S608
        " WHERE s.household_id = w.household_id AND s.starts_at <= %s AND s.ends_at > %s)"
        f" FROM {watch} w WHERE w.kind = %s AND w.paused = %s"
        " AND w.starts_at <= %s AND (w.ends_at IS NULL OR w.ends_at > %s)"
        f" AND w.household_id IN ({placeholders})"
    )
    last_value = ops.adapt_datetimefield_value(last)
    first_value = ops.adapt_datetimefield_value(first)
    params = [
        last_value,
        first_value,
        WatchKind.QUARANTINE.value,
        False,
        last_value,
        first_value,
        *ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {row[0] for row in rows}, {row[0] for row in rows if row[1]}


_WATCH_TABLE = Watch._meta.db_table
_WINDOW_TABLE = SuppressionWindow._meta.db_table


def door_open_triggers(result: IngestResult) -> list[Trigger]:
    """A door opening in a household under quarantine, outside any expected opening
    (suppression window): one trigger per such event. Registered as an ingest rule."""
    events = [
        e
        for e in result.events
        if e.door == "open"
        and not e.stale
        and e.device.status == DeviceStatus.INSTALLED
        and e.device.household_id is not None
    ]
    if not events:
        return []
    household_ids = {e.device.household_id for e in events if e.device.household_id}
    first = min(e.event_time for e in events)
    last = max(e.event_time for e in events)
    household_ids, with_windows = _under_quarantine(household_ids, first, last)
    if not household_ids:
        return []
    watches: dict[int, list[Watch]] = defaultdict(list)
    for watch in (
        Watch.objects.filter(
            kind=WatchKind.QUARANTINE,
            household_id__in=household_ids,
            paused=False,
            starts_at__lte=last,
        )
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=first))
        .select_related("person", "household__area")
    ):
        watches[watch.household_id].append(watch)
    if not watches:
        return []
    quiet: dict[int, list[SuppressionWindow]] = defaultdict(list)
    if with_windows:
        for window in SuppressionWindow.objects.filter(
            household_id__in=with_windows, starts_at__lte=last, ends_at__gt=first
        ):
            quiet[window.household_id].append(window)
    households = {w.household_id: w.household for ws in watches.values() for w in ws}
    names = ancestor_names([h.area for h in households.values()])
    book = RuleBook([QUARANTINE_DOOR_OPEN])
    triggers: list[Trigger] = []
    for event in events:
        household_id = event.device.household_id or 0
        active = _active(watches.get(household_id, []), event.event_time)
        if active is None or _active(quiet.get(household_id, []), event.event_time):
            continue
        household = households[active.household_id]
        setting = book.resolve(
            QUARANTINE_DOOR_OPEN, household.area.path, household.pk, active.person_id
        )
        if not setting.enabled:
            continue
        triggers.append(
            Trigger(
                kind=QUARANTINE_DOOR_OPEN,
                subject=f"household:{household.pk}",
                at=event.event_time,
                title=household_address(household, names),
                area=household.area,
                severity=setting.severity,
                household=household,
                person=active.person,
                device_id=event.device_id,
                data={"event": event.pk, "device": event.device_id},
            )
        )
    return triggers


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
    """An elderly person's door that has not opened for longer than their setting allows,
    counting only the daily active hours. Registered as a timer rule."""
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
    book = RuleBook([CARE_INACTIVITY])
    subjects = [
        f"person:{w.person_id}" if w.person_id else f"household:{w.household_id}" for w in watches
    ]
    already = open_alert_since(CARE_INACTIVITY, subjects)
    names = ancestor_names([w.household.area for w in watches])
    triggers = []
    for watch, subject in zip(watches, subjects, strict=True):
        household: Household = watch.household
        setting = book.resolve(CARE_INACTIVITY, household.area.path, household.pk, watch.person_id)
        params = {**setting.params, **watch.params}
        active_from, active_until = (
            parse_time(params["active_from"]),
            parse_time(params["active_until"]),
        )
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
                kind=CARE_INACTIVITY,
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


register_ingest_rule(door_open_triggers)
register_timer_rule("care_inactivity", check_care_inactivity)
