"""ChirpStack v4 MQTT integration (JSON marshaler) for LoRaWAN door sensors.

Topic: `application/<application id>/device/<DevEUI>/event/<type>` (ChirpStack docs,
"Integrations > MQTT"). Payloads follow the Protobuf JSON mapping of `integration.proto`, which
OMITS zero-valued fields: an uplink with `fCnt` 0 has no `fCnt` key, a status event with 0 % has
no `batteryLevel`. Absent numbers are therefore read as 0, as the mapping defines.

Event types:

- `up`: the uplink. Door data comes from, in order of preference:
  1. our own decoding of the raw `data` (base64) for models we know — Milesight WS301 (fPort 85)
     and Dragino LDS01 / LDS02 (fPort 10, and fPort 7 in EDC mode) — because then the result does
     not depend on which codec an operator pasted into the device profile;
  2. the codec output `object`, mapped with the common key table (`door`, `doorStatus`,
     `DOOR_OPEN_STATUS`, `magnet_status`, `contact`, `battery`, `BAT_V`, `tamper`…);
  3. nothing: an uplink on fPort 0 (MAC commands only) is a heartbeat.
  An uplink of an unknown model without `object` is a DecodeError: we cannot tell what it says.
  The model comes from the constructor's `models` mapping (keyed by DevEUI or by device-profile
  name), else from the device-profile name containing "WS301", "LDS01" or "LDS02".
- `status`: DevStatusAns battery (`batteryLevel` %, `externalPowerSource`,
  `batteryLevelUnavailable`) as a kind="status" Reading.
- `join`, `ack`, `txack`, `log`, `location`, `integration` and anything newer: [] (not door data).

Dedup key: `deduplicationId` (a UUID ChirpStack gives every deduplicated uplink and status event;
always present in v4). Without it we fall back to `<DevEUI>:<DevAddr>:<fCnt>`, or
`<DevEUI>:<fCnt>` when there is no DevAddr either. The frame counter restarts at 0 on every OTAA
(re)join, so DevEUI+fCnt alone would make the first uplinks after a rejoin look like redeliveries
of old ones and drop real door events; the DevAddr is reassigned on each join, which separates the
sessions. (An ABP device that resets fCnt on reboot keeps its DevAddr; only a producer that omits
`deduplicationId` is exposed to that.)

Binary formats, from the vendors' published decoders:

- Milesight WS301 (SensorDecoders `WS_Series/WS301/WS301_Decoder.js`, TTN `ws301.js`): channel
  TLV. `01 75 xx` battery %, `03 00 xx` door (0 close, 1 open), `04 00 xx` install state
  (0 installed, 1 uninstalled = tamper), `ff xx …` device information (skipped, lengths from the
  decoder). Like the vendor decoder we stop at an unknown channel and keep what came before it;
  a truncated value is an error.
- Dragino LDS01 / LDS02 (`lds01_02_Decoder_Chirpstack_V4_v1.5.txt`, TTN `lds02.js`), fPort 10,
  10 bytes: bytes 0-1 big-endian, bit 15 = door open, bit 14 = water leak, bits 0-13 = battery mV;
  byte 2 = MOD (1 door, 2 water leak, 3 both); MOD 1: bytes 3-5 open count, bytes 6-8 last open
  duration (minutes); byte 9 bit 0 = open-too-long alarm. fPort 7 (EDC mode, `LDS02_Decoder_1.8.2`)
  carries battery and an event counter but no door state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shouwang.devices.adapters._common import (
    CommonFields,
    decode_base64,
    expect_object,
    fail,
    is_number,
    json_type,
    load_json,
    map_common_keys,
    opt_bool,
    opt_int,
    opt_number,
    opt_str,
    parse_iso_aware,
    percent_or_none,
)
from shouwang.devices.adapters.base import Reading

_TOPIC = re.compile(r"^application/([^/]+)/device/([^/]+)/(event|command)/([^/]+)$")
_DEV_EUI = re.compile(r"^[0-9a-f]{16}$")

KNOWN_MODELS = ("ws301", "lds01", "lds02")

# Milesight 0xFF "device information" channels and their value lengths (WS301_Decoder.js).
_WS301_INFO_LENGTHS = {
    0x01: 1,  # IPSO version
    0x09: 2,  # hardware version
    0x0A: 2,  # firmware version
    0xFF: 2,  # TSL version
    0x08: 6,  # serial number
    0x0F: 1,  # LoRaWAN class
    0xFE: 1,  # reset event
    0x0B: 1,  # device status (power on)
    0x03: 2,  # downlink response: report interval
    0x10: 1,  # downlink response: reboot
    0x28: 1,  # downlink response: query device status
}


class ChirpStackAdapter:
    name = "chirpstack"

    def __init__(self, models: Mapping[str, str] | None = None) -> None:
        """`models` maps a DevEUI (any case) or a device-profile name to one of KNOWN_MODELS."""
        self.models: dict[str, str] = {}
        for key, model in (models or {}).items():
            code = model.strip().lower()
            if code not in KNOWN_MODELS:
                raise ValueError(f"unknown model {model!r}; known: {', '.join(KNOWN_MODELS)}")
            self.models[key.strip().lower()] = code

    def decode_mqtt(self, topic: str, payload: bytes) -> list[Reading]:
        match = _TOPIC.match(topic)
        if match is None:
            fail(f"topic {topic[:80]!r} is not a ChirpStack v4 application event topic")
        _, topic_eui, direction, event_type = match.groups()
        if direction == "command" or event_type not in ("up", "status"):
            return []
        message = expect_object(load_json(payload, f"{event_type} event"), f"{event_type} event")
        raw_info = message.get("deviceInfo")
        info = expect_object({} if raw_info is None else raw_info, "deviceInfo")
        dev_eui = self._dev_eui(topic_eui, info)
        if event_type == "status":
            return [self._status(dev_eui, info, message)]
        return [self._uplink(dev_eui, info, message)]

    def topic_device(self, topic: str) -> str | None:
        match = _TOPIC.match(topic)
        dev_eui = match.group(2).lower() if match else ""
        return dev_eui if _DEV_EUI.match(dev_eui) else None

    # --- shared ---------------------------------------------------------------------------------

    @staticmethod
    def _dev_eui(topic_eui: str, info: Mapping[str, Any]) -> str:
        topic_value = topic_eui.lower()
        if not _DEV_EUI.match(topic_value):
            fail(f"topic DevEUI {topic_eui[:40]!r} is not 16 hex digits")
        body_value = opt_str(info, "devEui", "deviceInfo")
        if body_value is not None and body_value.lower() != topic_value:
            fail(f"deviceInfo.devEui {body_value[:40]!r} does not match the topic DevEUI")
        return topic_value

    @staticmethod
    def _time(message: Mapping[str, Any], what: str) -> datetime | None:
        value = message.get("time")
        return None if value is None else parse_iso_aware(value, f"{what}.time")

    # --- status ---------------------------------------------------------------------------------

    def _status(self, dev_eui: str, info: Mapping[str, Any], message: dict[str, Any]) -> Reading:
        external = opt_bool(message, "externalPowerSource", "status") or False
        unavailable = opt_bool(message, "batteryLevelUnavailable", "status") or False
        level = opt_number(message, "batteryLevel", "status")
        battery = None if external or unavailable else percent_or_none(level or 0)
        return Reading(
            adapter=self.name,
            device_key=dev_eui,
            kind="status",
            event_time=self._time(message, "status"),
            battery_percent=battery,
            dedup_key=opt_str(message, "deduplicationId", "status") or None,
            model=opt_str(info, "deviceProfileName", "deviceInfo") or None,
            raw=message,
        )

    # --- uplink ---------------------------------------------------------------------------------

    def _uplink(self, dev_eui: str, info: Mapping[str, Any], message: dict[str, Any]) -> Reading:
        what = "up"
        event_time = self._time(message, what)
        signal = self._best_rssi(message.get("rxInfo"))
        f_cnt = opt_int(message, "fCnt", what) or 0
        f_port = opt_int(message, "fPort", what) or 0
        profile = opt_str(info, "deviceProfileName", "deviceInfo") or None
        model = self._model(dev_eui, profile)
        raw_data = message.get("data")
        data = b"" if raw_data is None else decode_base64(raw_data, f"{what}.data")
        codec_object = message.get("object")
        decoded: dict[str, Any] = {}

        if f_port == 0:
            fields = CommonFields()  # MAC-only frame: proof of life, no application data
        elif model is not None and data:
            fields, decoded = _DECODERS[model](f_port, data)
        elif codec_object is not None:
            fields = map_common_keys(
                expect_object(codec_object, f"{what}.object"), f"{what}.object"
            )
        elif model is not None:
            fail(f"{model.upper()} uplink on fPort {f_port} has no data")
        else:
            fail(
                f"cannot decode uplink of device profile {profile!r}: no codec output (`object`) "
                "and not a known model; configure a codec in the device profile or a model mapping"
            )

        dedup_key = opt_str(message, "deduplicationId", what) or None
        if dedup_key is None:
            dev_addr = opt_str(message, "devAddr", what)
            dedup_key = f"{dev_eui}:{dev_addr}:{f_cnt}" if dev_addr else f"{dev_eui}:{f_cnt}"
        raw: dict[str, Any] = dict(message)
        if decoded:
            raw["shouwang_decoded"] = decoded
        return Reading(
            adapter=self.name,
            device_key=dev_eui,
            kind="state",
            event_time=event_time,
            door=fields.door,
            battery_percent=fields.battery_percent,
            battery_mv=fields.battery_mv,
            battery_low=fields.battery_low,
            tamper=fields.tamper,
            signal=signal,
            dedup_key=dedup_key,
            model=profile or (model.upper() if model else None),
            raw=raw,
        )

    def _model(self, dev_eui: str, profile: str | None) -> str | None:
        if dev_eui in self.models:
            return self.models[dev_eui]
        if profile is not None:
            if profile.strip().lower() in self.models:
                return self.models[profile.strip().lower()]
            squashed = re.sub(r"[^a-z0-9]", "", profile.lower())
            for code in KNOWN_MODELS:
                if code in squashed:
                    return code
        return None

    @staticmethod
    def _best_rssi(rx_info: Any) -> int | None:
        if rx_info is None:
            return None
        if not isinstance(rx_info, list):
            fail(f"up.rxInfo must be an array, got {json_type(rx_info)}")
        best: int | None = None
        for index, gateway in enumerate(rx_info):
            rssi = expect_object(gateway, f"up.rxInfo[{index}]").get("rssi")
            if rssi is None:
                # Absent means 0 dBm under the JSON mapping, which no real reception reports.
                continue
            if not is_number(rssi) or not -200 <= rssi <= 50:
                fail(f"up.rxInfo[{index}].rssi must be a number of dBm, got {rssi!r:.20}")
            best = round(rssi) if best is None else max(best, round(rssi))
        return best


# --- vendor binary decoders ---------------------------------------------------------------------

Decoded = tuple[CommonFields, dict[str, Any]]


def decode_ws301(f_port: int, data: bytes) -> Decoded:
    """Milesight WS301 magnetic contact switch, channel TLV on fPort 85."""
    if f_port != 85:
        fail(f"WS301 uplink on unknown fPort {f_port} (expected 85)")
    fields = CommonFields()
    decoded: dict[str, Any] = {}
    index = 0
    while index < len(data):
        if index + 2 > len(data):
            fail(f"WS301 payload truncated in the channel header at byte {index}")
        channel, channel_type = data[index], data[index + 1]
        if channel in (0xFF, 0xFE) and channel_type in _WS301_INFO_LENGTHS:
            length = _WS301_INFO_LENGTHS[channel_type]
        elif (channel, channel_type) in ((0x01, 0x75), (0x03, 0x00), (0x04, 0x00)):
            length = 1
        else:
            # The vendor decoder stops here too: without the channel we cannot know its length.
            decoded["unparsed_from_byte"] = index
            break
        index += 2
        if index + length > len(data):
            fail(f"WS301 channel {channel:02x} {channel_type:02x} truncated at byte {index}")
        value = data[index : index + length]
        index += length
        if (channel, channel_type) == (0x01, 0x75):
            decoded["battery"] = value[0]
            fields.battery_percent = percent_or_none(value[0])
        elif (channel, channel_type) == (0x03, 0x00):
            decoded["magnet_status"] = "close" if value[0] == 0 else "open"
            fields.door = "closed" if value[0] == 0 else "open"
        elif (channel, channel_type) == (0x04, 0x00):
            decoded["tamper_status"] = "installed" if value[0] == 0 else "uninstalled"
            fields.tamper = value[0] != 0
        else:
            decoded[f"{channel:02x}{channel_type:02x}"] = value.hex()
    if not decoded or list(decoded) == ["unparsed_from_byte"]:
        fail("WS301 payload starts with a channel we do not know")
    return fields, decoded


def decode_lds0x(f_port: int, data: bytes) -> Decoded:
    """Dragino LDS01 / LDS02 door sensor (same firmware)."""
    if f_port not in (7, 10):
        fail(f"LDS01/LDS02 uplink on unknown fPort {f_port} (expected 10, or 7 in EDC mode)")
    if f_port == 7:
        if len(data) < 5:
            fail(f"LDS01/LDS02 EDC payload is {len(data)} bytes, expected at least 5")
        battery_mv = int.from_bytes(data[0:2], "big") & 0x3FFF
        decoded = {
            "BAT_mV": battery_mv,
            "EDC_MODE": "OPEN" if data[0] & 0x80 else "CLOSE",
            "EDC_COUNT": int.from_bytes(data[2:5], "big"),
        }
        return CommonFields(battery_mv=battery_mv or None), decoded
    if len(data) != 10:
        fail(f"LDS01/LDS02 payload is {len(data)} bytes, expected 10")
    battery_mv = int.from_bytes(data[0:2], "big") & 0x3FFF
    door_open = bool(data[0] & 0x80)
    mode = data[2]
    decoded = {"BAT_mV": battery_mv, "MOD": mode, "ALARM": data[9] & 0x01}
    fields = CommonFields(battery_mv=battery_mv or None)
    if mode in (1, 3):
        fields.door = "open" if door_open else "closed"
        decoded["DOOR_OPEN_STATUS"] = int(door_open)
    if mode == 1:
        decoded["DOOR_OPEN_TIMES"] = int.from_bytes(data[3:6], "big")
        decoded["LAST_DOOR_OPEN_DURATION"] = int.from_bytes(data[6:9], "big")
    return fields, decoded


_DECODERS: dict[str, Callable[[int, bytes], Decoded]] = {
    "ws301": decode_ws301,
    "lds01": decode_lds0x,
    "lds02": decode_lds0x,
}

adapter = ChirpStackAdapter()
