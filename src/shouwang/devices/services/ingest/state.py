"""The device state machine: one reading moves a device's state forward and says which health
changes (offline/online, battery, tamper) it caused. Pure: no database."""

from __future__ import annotations

from datetime import datetime

from shouwang.devices.adapters import Reading
from shouwang.devices.models import HealthKind
from shouwang.devices.services.ingest.records import DeviceState, StoredHealth

DEFAULT_LOW_BATTERY_PERCENT = 20


def apply(
    device: DeviceState,
    reading: Reading,
    received_at: datetime,
    event_time: datetime,
    stale: bool,
    low_at: int,
    health: list[StoredHealth],
) -> None:
    """Move the device's state forward with one reading; the health changes it caused are
    appended to `health`. A stale reading (older than the state) only proves the device lives."""
    if device.last_seen_at is None or received_at > device.last_seen_at:
        device.last_seen_at = received_at
    if reading.model and not device.model:
        device.model = reading.model
    if reading.hardware_id and not device.hardware_id:
        device.hardware_id = reading.hardware_id
    going_offline = reading.kind == "availability" and reading.online is False
    if device.offline and not going_offline and not stale:
        device.offline, device.offline_since = False, None
        health.append(StoredHealth(device, HealthKind.ONLINE, event_time))
    if stale:
        return
    device.state_at = event_time
    if going_offline and not device.offline:
        device.offline, device.offline_since = True, event_time
        health.append(
            StoredHealth(device, HealthKind.OFFLINE, event_time, {"reported_by": "network"})
        )
    if reading.door and reading.door != device.door:
        device.door, device.door_changed_at = reading.door, event_time
    if reading.signal is not None:
        device.signal = reading.signal
    if reading.battery_mv is not None:
        device.battery_mv = reading.battery_mv
    if reading.battery_percent is not None:
        device.battery_percent = reading.battery_percent
    if reading.battery_low is not None or reading.battery_percent is not None:
        low = bool(reading.battery_low) or (
            reading.battery_percent is not None and reading.battery_percent <= low_at
        )
        if low != device.battery_low:
            device.battery_low = low
            health.append(
                StoredHealth(
                    device,
                    HealthKind.BATTERY_LOW if low else HealthKind.BATTERY_OK,
                    event_time,
                    {"battery_percent": device.battery_percent},
                )
            )
    if reading.tamper is not None and reading.tamper != device.tamper:
        device.tamper = reading.tamper
        health.append(
            StoredHealth(
                device,
                HealthKind.TAMPER if reading.tamper else HealthKind.TAMPER_CLEARED,
                event_time,
            )
        )
