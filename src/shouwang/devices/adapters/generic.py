"""Shouwang's own JSON format, for gateways and scripts that no vendor adapter covers.

One message is a JSON object; a batch is a JSON array of them (at most 1000):

    {
      "device": "gate-3/door-1",           required over HTTP; over MQTT the topic names it
      "time": "2024-05-01T08:30:00+08:00", optional, ISO 8601 WITH an offset (or Z)
      "door": "open",                       optional: "open" | "closed"
      "battery": 87,                        optional: integer percent 0-100
      "battery_mv": 3000,                   optional: integer millivolts, 0-100000
      "battery_low": false,                 optional: boolean
      "tamper": false,                      optional: boolean (true = tampered / removed)
      "online": true,                       optional: boolean
      "signal": -70,                        optional: integer (RSSI dBm, LQI… as the radio reports)
      "id": "a1b2c3"                        optional: message id, the dedup key
    }

Validation is strict, because whoever produces this format controls it: an unknown key, a value of
the wrong type, an unknown door word, a battery outside 0-100 or a timestamp without an offset is a
DecodeError naming the field. A message with only `online` (besides `device`, `time`, `id`) is an
availability Reading; anything else is a state Reading (heartbeat if it has no facts at all).

MQTT: topic `shouwang/generic/<device>` (the device id may contain `/`), payload one message or a
batch; a `device` inside the payload must then equal the topic's.
HTTP: `POST /api/v1/ingest/generic` with the same body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shouwang.devices.adapters._common import (
    expect_items,
    fail,
    json_type,
    load_json,
    parse_iso_aware,
)
from shouwang.devices.adapters.base import DoorState, Reading

TOPIC_PREFIX = "shouwang/generic/"
_KNOWN_KEYS = frozenset(
    {
        "device",
        "time",
        "door",
        "battery",
        "battery_mv",
        "battery_low",
        "tamper",
        "online",
        "signal",
        "id",
    }
)
_AVAILABILITY_ONLY_KEYS = frozenset({"device", "time", "id", "online"})
_DOORS: dict[str, DoorState] = {"open": "open", "closed": "closed"}


class GenericAdapter:
    name = "generic"

    def decode_mqtt(self, topic: str, payload: bytes) -> list[Reading]:
        if not topic.startswith(TOPIC_PREFIX) or not topic[len(TOPIC_PREFIX) :].strip("/"):
            fail(f"topic {topic[:80]!r} is not {TOPIC_PREFIX}<device>")
        device = topic[len(TOPIC_PREFIX) :]
        return self._decode(payload, "payload", topic_device=device)

    def topic_device(self, topic: str) -> str | None:
        device = topic[len(TOPIC_PREFIX) :] if topic.startswith(TOPIC_PREFIX) else ""
        return device if device.strip("/") else None

    def decode_http(
        self, body: bytes, headers: Mapping[str, str], config: Mapping[str, str]
    ) -> list[Reading]:
        return self._decode(body, "body", topic_device=None)

    def _decode(self, data: bytes, what: str, topic_device: str | None) -> list[Reading]:
        parsed = load_json(data, what)
        items = expect_items(parsed, what)
        return [
            self._message(
                item, f"{what}[{index}]" if isinstance(parsed, list) else what, topic_device
            )
            for index, item in enumerate(items)
        ]

    def _message(self, item: dict[str, Any], what: str, topic_device: str | None) -> Reading:
        # Written for the common case (a valid message costs a few dictionary look-ups); every
        # value that is not plainly right goes through the helpers that name the problem.
        if not item.keys() <= _KNOWN_KEYS:
            unknown = sorted(str(key) for key in item if key not in _KNOWN_KEYS)
            fail(f"{what} has unknown field(s): {', '.join(unknown)[:80]}")
        get = item.get

        device = get("device")
        if device is not None and (not isinstance(device, str) or not device.strip()):
            fail(f"{what}.device must be a non-empty string")
        if topic_device is not None:
            if device is not None and device != topic_device:
                fail(
                    f"{what}.device {device[:40]!r} does not match the topic's "
                    f"{topic_device[:40]!r}"
                )
            device = topic_device
        if device is None:
            fail(f"{what}.device is required")

        time = get("time")
        door = get("door")
        if door is not None and (not isinstance(door, str) or door not in _DOORS):
            fail(f'{what}.door must be "open" or "closed", got {door!r:.40}')
        message_id = get("id")
        if message_id is not None and (not isinstance(message_id, str) or not message_id):
            fail(f"{what}.id must be a non-empty string")
        # In the order of the fields below, so that the first problem is the one named.
        event_time = None if time is None else _event_time(time, f"{what}.time")
        battery = get("battery")
        if battery is not None and not (type(battery) is int and 0 <= battery <= 100):
            battery = _integer(item, "battery", what, 0, 100)
        battery_mv = _integer(item, "battery_mv", what, 0, 100_000)
        battery_low = _boolean(item, "battery_low", what)
        tamper = get("tamper")
        if tamper is not None and tamper is not True and tamper is not False:
            _boolean(item, "tamper", what)
        online = _boolean(item, "online", what)
        signal = get("signal")
        if signal is not None and not (type(signal) is int and -1000 <= signal <= 1000):
            signal = _integer(item, "signal", what, -1000, 1000)

        availability_only = "online" in item and item.keys() <= _AVAILABILITY_ONLY_KEYS
        return Reading(
            adapter=self.name,
            device_key=device,
            kind="availability" if availability_only else "state",
            event_time=event_time,
            door=None if door is None else _DOORS[door],
            battery_percent=battery,
            battery_mv=battery_mv,
            battery_low=battery_low,
            tamper=tamper,
            online=online,
            signal=signal,
            dedup_key=message_id,
            raw=item,
        )


def _event_time(value: Any, what: str) -> datetime:
    # Most senders write what datetime.fromisoformat reads as it is (it drops digits beyond
    # microseconds, as parse_iso_aware does); anything else, or a time without an offset,
    # gets parse_iso_aware's handling and its error message.
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.utcoffset() is not None:
                return parsed.astimezone(UTC)
    return parse_iso_aware(value, what)


def _integer(item: Mapping[str, Any], key: str, what: str, low: int, high: int) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        fail(f"{what}.{key} must be an integer, got {json_type(value)}")
    if not low <= value <= high:
        fail(f"{what}.{key} must be between {low} and {high}, got {value}")
    return value


def _boolean(item: Mapping[str, Any], key: str, what: str) -> bool | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        fail(f"{what}.{key} must be true or false, got {json_type(value)}")
    return value


adapter = GenericAdapter()
