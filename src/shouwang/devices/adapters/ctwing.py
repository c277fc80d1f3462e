"""China Telecom AEP (CTWing, 天翼物联网平台) HTTP subscription push.

CTWing POSTs one JSON message per request (we also accept a JSON array of them). Fields we use:
`messageType`, `deviceId` (always present, so it is the device key; online/offline reports carry
nothing else), `IMEI` (kept as `hardware_id`; the platform writes "undefined" when it has none),
`timestamp` (ms since the epoch, platform receive time), `upPacketSN` / `upDataSN` (-1 or ""
when not applicable), `payload`, `eventType`, `eventContent`. `productId`, `tenantId`,
`serviceId`, `protocol`, `topic` are kept in `raw` only.

Message types:

- `dataReport`: `payload` is either the product's service properties as a JSON object (mapped
  with the common key table: `door_state`, `battery_value`, `battery_voltage`, `tamper_alarm`,
  `Signal_Power`/`rsrp`…), or a transparent frame `{"APPdata": "<base64>"}`. APPdata that is a
  JSON object is mapped the same way; anything else must be the Shouwang door frame below.
- `deviceOnlineOfflineReport`: `eventType` 1 online, 0 offline → kind="availability".
- `eventReport`: `eventType` 1 info / 2 warning / 3 fault, `eventContent` an object. Only flags
  are read from it (door, tamper, battery low — e.g. `battery_state: 1` in a low-battery event):
  numbers in alarm events are alarm codes, not measurements.
- `commandResponse`: [] (downlink receipts). `dataReportTupUnion`: [] (CTWing's merged copy of
  data reports already pushed individually; reading both would double every event).

Shouwang door frame (APPdata, binary), for NB-IoT sensors whose firmware we specify — 5 bytes:

    byte 0     format version, 0x01
    byte 1     flags: bit 0 door open (1 open, 0 closed), bit 1 tamper, bit 2 battery low;
               bits 3-7 reserved, must be 0
    bytes 2-3  battery voltage in mV, unsigned big-endian; 0xFFFF = not measured
    byte 4     battery percent 0-100; 0xFF = not measured

Example: `01 01 0B B8 57` = door open, no tamper, battery OK, 3000 mV, 87 % (base64 "AQELuFc=").

Dedup key: `<deviceId>:<messageType>:<timestamp>` plus `:<upPacketSN>` when it is a real
sequence number. CTWing retries a failed push (up to 3 times) with the same message, so these
are stable across redeliveries; the platform timestamp separates genuine repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shouwang.devices.adapters._common import (
    CommonFields,
    decode_base64,
    expect_items,
    expect_object,
    fail,
    from_epoch_ms,
    json_type,
    key_string,
    load_json,
    map_common_keys,
    opt_int,
)
from shouwang.devices.adapters.base import Reading

_IGNORED_TYPES = frozenset({"commandResponse", "dataReportTupUnion"})
FRAME_VERSION = 0x01
FRAME_LENGTH = 5


class CtwingAdapter:
    name = "ctwing"

    def decode_http(
        self, body: bytes, headers: Mapping[str, str], config: Mapping[str, str]
    ) -> list[Reading]:
        readings: list[Reading] = []
        for index, message in enumerate(expect_items(load_json(body, "push body"), "push body")):
            reading = self._message(message, f"message[{index}]")
            if reading is not None:
                readings.append(reading)
        return readings

    def _message(self, message: dict[str, Any], what: str) -> Reading | None:
        message_type = message.get("messageType")
        if not isinstance(message_type, str):
            fail(f"{what}.messageType must be a string, got {json_type(message_type)}")
        if message_type in _IGNORED_TYPES:
            return None
        device_id = key_string(message.get("deviceId"), f"{what}.deviceId")
        timestamp = message.get("timestamp")
        event_time = None if timestamp is None else from_epoch_ms(timestamp, f"{what}.timestamp")
        imei = message.get("IMEI", message.get("imei"))
        common: dict[str, Any] = {
            "adapter": self.name,
            "device_key": device_id,
            "event_time": event_time,
            "hardware_id": imei
            if isinstance(imei, str) and imei not in ("", "undefined")
            else None,
            "dedup_key": self._dedup_key(message, device_id, message_type, what),
            "raw": message,
        }
        if message_type == "deviceOnlineOfflineReport":
            event_type = opt_int(message, "eventType", what)
            if event_type not in (0, 1):
                fail(f"{what}.eventType must be 1 (online) or 0 (offline), got {event_type!r}")
            return Reading(kind="availability", online=event_type == 1, **common)
        if message_type == "dataReport":
            fields = self._data_report(message.get("payload"), f"{what}.payload")
            return self._state(fields, common)
        if message_type == "eventReport":
            content = message.get("eventContent")
            content_object = expect_object(
                {} if content is None else content, f"{what}.eventContent"
            )
            fields = map_common_keys(content_object, f"{what}.eventContent", measurements=False)
            return self._state(fields, common)
        fail(f"{what}.messageType {message_type[:40]!r} is not a CTWing push type we know")

    @staticmethod
    def _state(fields: CommonFields, common: dict[str, Any]) -> Reading:
        return Reading(
            kind="state",
            door=fields.door,
            battery_percent=fields.battery_percent,
            battery_mv=fields.battery_mv,
            battery_low=fields.battery_low,
            tamper=fields.tamper,
            signal=fields.signal,
            **common,
        )

    @staticmethod
    def _dedup_key(message: Mapping[str, Any], device_id: str, message_type: str, what: str) -> str:
        key = f"{device_id}:{message_type}:{message.get('timestamp')}"
        sequence = message.get("upPacketSN")
        if isinstance(sequence, int) and not isinstance(sequence, bool) and sequence >= 0:
            key += f":{sequence}"
        elif sequence not in (None, "", -1) and not isinstance(sequence, int | str):
            fail(f"{what}.upPacketSN must be an integer, got {json_type(sequence)}")
        return key

    def _data_report(self, payload: Any, what: str) -> CommonFields:
        properties = expect_object(payload, what)
        if "APPdata" not in properties:
            return map_common_keys(properties, what)
        frame = decode_base64(properties["APPdata"], f"{what}.APPdata")
        if frame.lstrip()[:1] == b"{":
            return map_common_keys(
                expect_object(load_json(frame, f"{what}.APPdata"), f"{what}.APPdata"),
                f"{what}.APPdata",
            )
        return decode_door_frame(frame, f"{what}.APPdata")


def decode_door_frame(frame: bytes, what: str = "APPdata") -> CommonFields:
    """The 5-byte Shouwang door frame documented in the module docstring."""
    if len(frame) != FRAME_LENGTH:
        fail(f"{what} is {len(frame)} bytes; the Shouwang door frame is {FRAME_LENGTH} bytes")
    version, flags = frame[0], frame[1]
    if version != FRAME_VERSION:
        fail(f"{what} has door-frame version {version}, expected {FRAME_VERSION}")
    if flags & 0xF8:
        fail(f"{what} sets reserved flag bits ({flags:#04x})")
    millivolts = int.from_bytes(frame[2:4], "big")
    percent = frame[4]
    if percent != 0xFF and percent > 100:
        fail(f"{what} battery percent {percent} is above 100")
    return CommonFields(
        door="open" if flags & 0x01 else "closed",
        tamper=bool(flags & 0x02),
        battery_low=bool(flags & 0x04),
        battery_mv=None if millivolts == 0xFFFF else millivolts,
        battery_percent=None if percent == 0xFF else percent,
    )


adapter = CtwingAdapter()
