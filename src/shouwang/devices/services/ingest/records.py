"""The plain records the ingest path works with: what comes in, the device it moves, what it
stores. No model instances on the hot path (the ORM's per-object work cost several times what
the database spends storing a batch); the attribute names are the models' own."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shouwang.devices.adapters import Reading
from shouwang.devices.models import Device


@dataclass(frozen=True, slots=True)
class Incoming:
    reading: Reading
    received_at: datetime
    # MQTT: the PUBLISH's packet id (0 at QoS 0); None for transports without one (HTTP).
    delivery: int | None = None
    # MQTT's DUP flag: the broker may have sent this message before (see redelivery.py).
    redelivered: bool = False


@dataclass(slots=True, eq=False)
class DeviceState:
    """A device as the ingest path reads and moves it: the row's values, no model instance.

    Also what the pipeline (the alert rules) sees as `event.device`: the same attribute names
    as `Device`, and the same `str()`.
    """

    pk: int
    adapter: str
    key: str
    label: str
    status: str
    area_id: int | None
    household_id: int | None
    model: str
    hardware_id: str
    last_seen_at: datetime | None
    state_at: datetime | None
    door: str
    door_changed_at: datetime | None
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool
    tamper: bool
    signal: int | None
    offline: bool
    offline_since: datetime | None
    last_raw_hash: str
    recent_deliveries: str

    def __str__(self) -> str:
        return self.label or self.key

    @classmethod
    def of(cls, device: Device) -> DeviceState:
        return cls(*(getattr(device, name) for name in DEVICE_READ))


# DeviceState's fields in order, as Device attribute names ("pk" is the id column).
DEVICE_READ = [name for name in DeviceState.__dataclass_fields__]

# The Device columns a batch writes back.
STATE_FIELDS = [
    "last_seen_at",
    "state_at",
    "door",
    "door_changed_at",
    "battery_percent",
    "battery_mv",
    "battery_low",
    "tamper",
    "signal",
    "offline",
    "offline_since",
    "last_raw_hash",
    "recent_deliveries",
    "model",
    "hardware_id",
]


@dataclass(slots=True, eq=False)
class StoredEvent:
    """One stored row of devices_deviceevent; attribute names are DeviceEvent's attnames."""

    device: DeviceState
    received_at: datetime
    event_time: datetime
    kind: str
    door: str
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool | None
    tamper: bool | None
    online: bool | None
    signal: int | None
    stale: bool
    dedup_key: str | None
    transport: str
    raw: Any
    pk: int = 0  # the row's id, once inserted

    @property
    def device_id(self) -> int:
        return self.device.pk


@dataclass(slots=True, eq=False)
class StoredHealth:
    """One health change (a HealthEvent row), with its device for the pipeline."""

    device: DeviceState
    kind: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def device_id(self) -> int:
        return self.device.pk


@dataclass(slots=True)
class Incident:
    """Something about the ingest path itself that people must hear of, such as the broker
    having lost the bridge's session. Raised as an alert with no area (platform admins)."""

    kind: str  # an alert kind declared in devices.alert_kinds
    subject: str
    at: datetime
    title: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    stale: int = 0
    new_devices: int = 0
    refused: int = 0
    events: list[StoredEvent] = field(default_factory=list)
    health: list[StoredHealth] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "stale": self.stale,
            "new_devices": self.new_devices,
            "health_events": len(self.health),
            "refused": self.refused,
        }


def raw_hash(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
