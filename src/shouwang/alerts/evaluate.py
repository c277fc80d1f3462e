"""Rules run on the ingest path: a door opening in a quarantined household, and device health.

Called by `devices.services.ingest` inside its transaction (registered with `devices.pipeline`
in `AlertsConfig.ready()`), so an alert commits with the event that caused it. Queries per
batch, not per event: households (1), watches (1), suppression windows (1), area names (1),
rule settings (1), the areas of devices in no household (1), alerts. Events and devices arrive
as the ingest path's plain records (StoredEvent, StoredHealth, DeviceState), not model
instances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from django.db.models import Q

from shouwang.alerts import rules
from shouwang.alerts.models import SuppressionWindow, Watch, WatchKind
from shouwang.alerts.services.alerting import Trigger, clear, raise_alerts
from shouwang.core.models import Area, Household
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.devices.models import DeviceStatus, HealthKind
from shouwang.devices.services.ingest import IngestResult, StoredEvent, StoredHealth

_HEALTH_ALERTS = {
    HealthKind.OFFLINE: rules.DEVICE_OFFLINE,
    HealthKind.TAMPER: rules.DEVICE_TAMPER,
    HealthKind.BATTERY_LOW: rules.BATTERY_LOW,
}
_HEALTH_CLEARS = {
    HealthKind.ONLINE: (rules.DEVICE_OFFLINE, "back online"),
    HealthKind.TAMPER_CLEARED: (rules.DEVICE_TAMPER, "tamper switch closed again"),
    HealthKind.BATTERY_OK: (rules.BATTERY_LOW, "battery replaced"),
}


W = TypeVar("W", Watch, SuppressionWindow)


def _active(windows: Iterable[W], at: datetime) -> W | None:
    for window in windows:
        if window.starts_at <= at and (window.ends_at is None or at < window.ends_at):
            return window
    return None


def on_ingest(result: IngestResult) -> None:
    door_opens = [
        e
        for e in result.events
        if e.door == "open"
        and not e.stale
        and e.device.status == DeviceStatus.INSTALLED
        and e.device.household_id is not None
    ]
    triggers = _door_triggers(door_opens) if door_opens else []
    triggers.extend(health_triggers(result.health))
    raise_alerts(triggers)
    for health in result.health:
        if health.kind in _HEALTH_CLEARS:
            kind, why = _HEALTH_CLEARS[HealthKind(health.kind)]
            clear(f"device:{health.device_id}", kind, health.at, why)


def _door_triggers(events: list[StoredEvent]) -> list[Trigger]:
    household_ids = {e.device.household_id for e in events if e.device.household_id}
    first = min(e.event_time for e in events)
    last = max(e.event_time for e in events)
    watches: dict[int, list[Watch]] = defaultdict(list)
    for watch in Watch.objects.filter(
        kind=WatchKind.QUARANTINE,
        household_id__in=household_ids,
        paused=False,
        starts_at__lte=last,
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=first)):
        watches[watch.household_id].append(watch)
    if not watches:
        return []
    quiet: dict[int, list[SuppressionWindow]] = defaultdict(list)
    for window in SuppressionWindow.objects.filter(
        household_id__in=watches.keys(), starts_at__lte=last, ends_at__gt=first
    ):
        quiet[window.household_id].append(window)
    households = {
        h.pk: h for h in Household.objects.filter(pk__in=watches.keys()).select_related("area")
    }
    names = ancestor_names([h.area for h in households.values()])
    book = rules.RuleBook([rules.QUARANTINE_DOOR_OPEN])
    triggers: list[Trigger] = []
    for event in events:
        household_id = event.device.household_id or 0
        active = _active(watches.get(household_id, []), event.event_time)
        if active is None or _active(quiet.get(household_id, []), event.event_time):
            continue
        household = households[active.household_id]
        setting = book.resolve(
            rules.QUARANTINE_DOOR_OPEN, household.area.path, household.pk, active.person_id
        )
        if not setting.enabled:
            continue
        triggers.append(
            Trigger(
                kind=rules.QUARANTINE_DOOR_OPEN,
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


def health_triggers(health: Iterable[StoredHealth]) -> list[Trigger]:
    """Device health changes that alert. Only installed devices: a sensor in a drawer that
    goes quiet is nobody's emergency."""
    wanted = [
        h for h in health if h.kind in _HEALTH_ALERTS and h.device.status == DeviceStatus.INSTALLED
    ]
    if not wanted:
        return []
    household_ids = {h.device.household_id for h in wanted if h.device.household_id}
    households = {
        h.pk: h for h in Household.objects.filter(pk__in=household_ids).select_related("area")
    }
    # A device in no household alerts in the area holding it.
    areas = Area.objects.in_bulk(
        {h.device.area_id for h in wanted if h.device.household_id not in households} - {None}
    )
    names = ancestor_names([h.area for h in households.values()])
    book = rules.RuleBook(set(_HEALTH_ALERTS.values()))
    triggers = []
    for event in wanted:
        device = event.device
        kind = _HEALTH_ALERTS[HealthKind(event.kind)]
        household = households.get(device.household_id or 0)
        area = household.area if household else areas.get(device.area_id or 0)
        setting = book.resolve(kind, area.path if area else "", household.pk if household else None)
        if not setting.enabled:
            continue
        where = household_address(household, names) if household else ""
        triggers.append(
            Trigger(
                kind=kind,
                subject=f"device:{device.pk}",
                at=event.at,
                title=f"{where} {device}".strip(),
                area=area,
                severity=setting.severity,
                household=household,
                device_id=device.pk,
                data={"health": event.kind},
            )
        )
    return triggers
