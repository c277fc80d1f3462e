"""The door sensors' own alert kinds. The alerts engine raises them: the health kinds from
the ingest path's health records (`alerts.evaluate.health_triggers`), a door held open from
its minute timer (`alerts.timers.check_door_held_open`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shouwang.core.kinds import AlertKind, Severity, declare

DOOR_HELD_OPEN = "door_held_open"
DEVICE_OFFLINE = "device_offline"
DEVICE_TAMPER = "device_tamper"
BATTERY_LOW = "battery_low"
# The broker had lost the bridge's persistent session: what it queued meanwhile may be gone.
INGEST_SESSION_LOST = "ingest_session_lost"

declare(
    AlertKind(DOOR_HELD_OPEN, _("Door held open"), Severity.WARNING, {"minutes": 10}),
    AlertKind(DEVICE_OFFLINE, _("Door sensor offline"), Severity.WARNING),
    AlertKind(DEVICE_TAMPER, _("Door sensor tampered or removed"), Severity.CRITICAL),
    AlertKind(BATTERY_LOW, _("Door sensor battery low"), Severity.INFO),
    AlertKind(INGEST_SESSION_LOST, _("MQTT broker lost the ingest session"), Severity.CRITICAL),
)
