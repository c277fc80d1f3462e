"""Zigbee2MQTT (Z2M) door/window contact sensors over MQTT.

Topics (Z2M docs, "MQTT Topics and Messages" and "Device-Availability"):

- `<base>/<friendly_name>`: device state, always a JSON object. The friendly name may itself
  contain `/` (Z2M recommends `room/device` names). Keys we read:
  `contact` (true = reed contact made = door CLOSED, false = open), `battery` (%, may be a float
  such as 30.5), `battery_low`, `voltage` (mV), `tamper`, `linkquality` (LQI 0-255),
  `last_seen` (only when `advanced.last_seen` is set: `ISO_8601` "2019-03-01T15:32:45.941Z",
  `ISO_8601_local` "2019-03-01T16:32:45.941+01:00" or `epoch` milliseconds), and the `device`
  object added by `mqtt.include_device_information` (`ieeeAddr`, `model`). Missing or null keys
  mean "not in this message" (Z2M omits unchanged values unless `cache_state` is on). A state
  with none of these keys (e.g. only `linkquality`) is still a Reading: it proves the sensor is
  alive.
- `<base>/<friendly_name>/availability` (retained): `online` / `offline` (legacy payload) or
  `{"state": "online"}` (Z2M 2.x, or `legacy_availability_payload: false`).
- `<base>/bridge/...`: the bridge itself, not a device: ignored.
- `<base>/<friendly_name>/set|get[/attribute]`: commands to the device: ignored.

An empty payload is the MQTT idiom for deleting a retained message (Z2M does this when a device is
removed); it carries nothing and is ignored.

Z2M messages carry no message id. With `last_seen` enabled its timestamp is the dedup key;
without it, `dedup_key` is left to the ingest path (hash of the payload).
Enabling `last_seen` makes every published state unique, which keeps two genuine identical
states from being mistaken for one redelivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shouwang.devices.adapters._common import (
    expect_object,
    fail,
    from_epoch_ms,
    is_number,
    json_type,
    load_json,
    opt_bool,
    opt_number,
    parse_iso_aware,
    percent_or_none,
)
from shouwang.devices.adapters.base import Reading

_COMMAND_SEGMENTS = frozenset({"set", "get"})


class Zigbee2MqttAdapter:
    name = "zigbee2mqtt"

    def __init__(self, base_topic: str = "zigbee2mqtt") -> None:
        base = base_topic.strip("/")
        if not base:
            raise ValueError("base_topic must not be empty")
        self.base_topic = base

    def decode_mqtt(self, topic: str, payload: bytes) -> list[Reading]:
        prefix = self.base_topic + "/"
        if not topic.startswith(prefix):
            fail(
                f"topic {topic[:80]!r} is not under the Zigbee2MQTT base topic {self.base_topic!r}"
            )
        rest = topic[len(prefix) :]
        segments = rest.split("/")
        if not rest or any(not segment for segment in segments):
            fail(f"topic {topic[:80]!r} has no device name")
        if segments[0] == "bridge":
            return []
        if any(segment in _COMMAND_SEGMENTS for segment in segments[1:]):
            return []
        if not payload.strip():
            return []
        if segments[-1] == "availability":
            if len(segments) == 1:
                fail("availability topic has no device name")
            return [self._availability("/".join(segments[:-1]), payload)]
        return [self._state(rest, payload)]

    def topic_device(self, topic: str) -> str | None:
        prefix = self.base_topic + "/"
        segments = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
        if segments and segments[-1] == "availability":
            segments = segments[:-1]
        if not segments or segments[0] == "bridge" or any(not s for s in segments):
            return None
        return "/".join(segments)

    def _availability(self, friendly_name: str, payload: bytes) -> Reading:
        text = payload.strip()
        state: Any
        if text in (b"online", b"offline"):
            state = text.decode()
            raw: dict[str, Any] | str = state
        else:
            message = expect_object(
                load_json(payload, "availability payload"), "availability payload"
            )
            state = message.get("state")
            raw = message
        if state not in ("online", "offline"):
            fail(f"availability state must be 'online' or 'offline', got {state!r:.40}")
        return Reading(
            adapter=self.name,
            device_key=friendly_name,
            kind="availability",
            online=state == "online",
            raw=raw,
        )

    def _state(self, friendly_name: str, payload: bytes) -> Reading:
        what = "state"
        message = expect_object(load_json(payload, "state payload"), "state payload")
        contact = opt_bool(message, "contact", what)
        linkquality = opt_number(message, "linkquality", what)
        voltage = opt_number(message, "voltage", what)
        ieee_address, model = self._device_info(message)
        last_seen = self._last_seen(message.get("last_seen"))
        return Reading(
            adapter=self.name,
            device_key=friendly_name,
            kind="state",
            event_time=last_seen,
            # With last_seen every published state is unique, so it identifies the message:
            # a redelivery is dropped however late it comes.
            dedup_key=f"seen:{last_seen.isoformat()}" if last_seen else None,
            door=None if contact is None else ("closed" if contact else "open"),
            battery_percent=percent_or_none(opt_number(message, "battery", what)),
            battery_mv=round(voltage) if voltage is not None and voltage > 0 else None,
            battery_low=opt_bool(message, "battery_low", what),
            tamper=opt_bool(message, "tamper", what),
            signal=round(linkquality) if linkquality is not None else None,
            model=model,
            hardware_id=ieee_address,
            raw=message,
        )

    @staticmethod
    def _last_seen(value: Any) -> datetime | None:
        if value is None:
            return None
        if is_number(value):
            return from_epoch_ms(value, "state.last_seen")
        if isinstance(value, str):
            return parse_iso_aware(value, "state.last_seen")
        fail(
            "state.last_seen must be an ISO 8601 string or epoch milliseconds, "
            f"got {json_type(value)}"
        )

    @staticmethod
    def _device_info(message: dict[str, Any]) -> tuple[str | None, str | None]:
        device = message.get("device")
        if device is None:
            return None, None
        info = expect_object(device, "state.device")
        ieee_address = info.get("ieeeAddr")
        model = info.get("model")
        return (
            ieee_address if isinstance(ieee_address, str) and ieee_address else None,
            model if isinstance(model, str) and model else None,
        )


adapter = Zigbee2MqttAdapter()
