"""The normalised reading every vendor adapter produces, and the adapter contract.

An adapter turns one message as a network delivers it (an MQTT topic and payload, or an HTTP
push body) into zero or more `Reading`s. Adapters are pure: no database, no clock reads beyond
what the message carries, no network. That keeps them testable against the vendors' own sample
messages and lets the ingest path batch the database work in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from shouwang.core import edge

DoorState = Literal["open", "closed"]
ReadingKind = Literal["state", "availability", "status"]


class DecodeError(ValueError):
    """The message cannot be understood. `reason` is shown to operators in the dead-letter list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(DecodeError):
    """The message is not from who it claims to be (bad platform signature or token)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation of one device, in vendor-neutral terms.

    `None` means "this message says nothing about it" (e.g. Zigbee2MQTT omits unchanged keys),
    never "false" or "zero".
    """

    adapter: str
    # The identifier the network uses: Zigbee2MQTT friendly name or IEEE address, LoRaWAN DevEUI
    # (lower-case hex), NB-IoT IMEI or platform device id.
    device_key: str
    kind: ReadingKind = "state"
    # When the device or network says it happened (timezone-aware UTC); None: use receive time.
    event_time: datetime | None = None
    door: DoorState | None = None
    battery_percent: int | None = None
    battery_mv: int | None = None
    battery_low: bool | None = None
    # Tamper switch or "sensor removed from the door" (uninstalled).
    tamper: bool | None = None
    online: bool | None = None
    # Link quality as the network reports it (Zigbee LQI 0-255, LoRa RSSI dBm, NB-IoT RSRP…).
    signal: int | None = None
    # A key that is the same for every redelivery of the same message and different for every
    # new message (ChirpStack deduplicationId, DevEUI+fCnt, CTWing message id…). None: the
    # ingest path derives one from a hash of the raw message.
    dedup_key: str | None = None
    # Device model when the message names it (ChirpStack deviceProfileName, Z2M model…).
    model: str | None = None
    raw: Mapping[str, Any] | str = field(default_factory=dict)
    # A second, hardware-bound identifier when the message carries one besides `device_key`:
    # Z2M's IEEE address (when the friendly name is the key), the IMEI on CTWing / OneNET (whose
    # online/offline messages carry only the platform device id, so that must be the key).
    hardware_id: str | None = None

    def __post_init__(self) -> None:
        # PostgreSQL stores neither a NUL nor an unpaired surrogate (text or jsonb): a message
        # carrying one in its ids or body is undecodable here, a dead letter, not a failed batch.
        for name in ("device_key", "dedup_key", "model", "hardware_id"):
            value = getattr(self, name)
            if value is not None and edge.is_hostile(value):
                raise DecodeError(f"{name} contains NUL or an unpaired surrogate")
        if edge.in_json(self.raw) is not None:
            raise DecodeError("the message contains NUL or an unpaired surrogate")


class MqttAdapter(Protocol):
    name: str

    def decode_mqtt(self, topic: str, payload: bytes) -> list[Reading]:
        """Readings from one MQTT message; [] for messages that are not device data."""
        ...

    def topic_device(self, topic: str) -> str | None:
        """The device key a topic names, whatever the payload (None: it names none). A message
        that cannot be decoded is attributed to that device's area as a dead letter."""
        ...


class HttpAdapter(Protocol):
    name: str

    def decode_http(
        self, body: bytes, headers: Mapping[str, str], config: Mapping[str, str]
    ) -> list[Reading]:
        """Readings from one HTTP push (a single message or a batch)."""
        ...
