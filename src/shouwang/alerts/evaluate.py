"""The alerts engine on the ingest path: every registered ingest rule, and device health.

Called by `devices.services.ingest` inside its transaction (registered with `devices.pipeline`
in `AlertsConfig.ready()`), so an alert commits with the event that caused it. The rules of
other apps (the quarantine door rule) register with `alerts.registry.register_ingest_rule`; their
triggers and device health's are raised together, in one round of queries per batch. Events
and devices arrive as the ingest path's plain records (StoredEvent, StoredHealth,
DeviceState), not model instances.
"""

from __future__ import annotations

from collections.abc import Iterable

from shouwang.alerts import registry, rules
from shouwang.alerts.services.alerting import Trigger, clear, raise_alerts
from shouwang.core.models import Area, Household
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.devices.alert_kinds import BATTERY_LOW, DEVICE_OFFLINE, DEVICE_TAMPER
from shouwang.devices.models import DeviceStatus, HealthKind
from shouwang.devices.services.ingest import Incident, IngestResult, StoredHealth

_HEALTH_ALERTS = {
    HealthKind.OFFLINE: DEVICE_OFFLINE,
    HealthKind.TAMPER: DEVICE_TAMPER,
    HealthKind.BATTERY_LOW: BATTERY_LOW,
}
_HEALTH_CLEARS = {
    HealthKind.ONLINE: (DEVICE_OFFLINE, "back online"),
    HealthKind.TAMPER_CLEARED: (DEVICE_TAMPER, "tamper switch closed again"),
    HealthKind.BATTERY_OK: (BATTERY_LOW, "battery replaced"),
}


def on_ingest(result: IngestResult) -> None:
    triggers = [t for rule in registry.INGEST_RULES.values() for t in rule(result)]
    triggers.extend(health_triggers(result.health))
    triggers.extend(incident_triggers(result.incidents))
    raise_alerts(triggers)
    for health in result.health:
        if health.kind in _HEALTH_CLEARS:
            kind, why = _HEALTH_CLEARS[HealthKind(health.kind)]
            clear(f"device:{health.device_id}", kind, health.at, why)


def incident_triggers(incidents: Iterable[Incident]) -> list[Trigger]:
    """Incidents of the ingest path itself: no area, so for platform-wide roles only."""
    incidents = list(incidents)
    if not incidents:
        return []
    book = rules.RuleBook({i.kind for i in incidents})
    triggers = []
    for incident in incidents:
        setting = book.resolve(incident.kind, "", None)
        if setting.enabled:
            triggers.append(
                Trigger(
                    kind=incident.kind,
                    subject=incident.subject,
                    at=incident.at,
                    title=incident.title,
                    area=None,
                    severity=setting.severity,
                    data=incident.detail,
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
