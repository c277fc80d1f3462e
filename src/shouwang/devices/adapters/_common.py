"""Parsing helpers shared by the vendor adapters.

Everything here raises `DecodeError` (never `ValueError`, `TypeError`, `KeyError`…) so that an
adapter built from these helpers keeps the contract "only DecodeError escapes".

The key table in `map_common_keys` is the one place that knows which vendor key means what. It is
used for payloads whose keys are chosen by whoever configured the platform (ChirpStack codec
`object`s, CTWing service properties, OneNET datastream ids), so it is deliberately forgiving about
spelling (`DOOR_OPEN_STATUS`, `doorStatus` and `door_status` are the same key) and strict about
values (an unknown door value is an error, not a guess).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from shouwang.devices.adapters.base import DecodeError, DoorState

# A push or an MQTT message carrying more items than this is refused whole: no gateway we support
# batches anywhere near it, and refusing keeps one hostile request from costing unbounded work.
MAX_BATCH = 1000


def fail(reason: str) -> NoReturn:
    raise DecodeError(reason)


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN/Infinity by default; no vendor sends them, and they would only blow
    # up later in int()/round() with an exception that is not a DecodeError.
    raise ValueError(f"{name} is not valid JSON")


def load_json(data: bytes | str, what: str) -> Any:
    """Parse JSON, turning every way it can fail into a DecodeError that says what was parsed."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        fail(f"{what} is nested too deeply")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        fail(f"{what} is not valid JSON: {exc}")


def expect_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(f"{what} must be a JSON object, got {json_type(value)}")
    return value


def expect_items(value: Any, what: str) -> list[dict[str, Any]]:
    """A single object or a batch (list of objects), always returned as a list."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_BATCH:
        fail(f"{what} has {len(items)} items; at most {MAX_BATCH} are accepted in one message")
    return [
        expect_object(item, f"{what}[{index}]" if isinstance(value, list) else what)
        for index, item in enumerate(items)
    ]


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    # bool is an int subclass in Python; a JSON true is never a number for us.
    return isinstance(value, int | float) and not isinstance(value, bool)


def opt_bool(obj: Mapping[str, Any], key: str, what: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        fail(f"{what}.{key} must be true or false, got {json_type(value)}")
    return value


def opt_str(obj: Mapping[str, Any], key: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(f"{what}.{key} must be a string, got {json_type(value)}")
    return value


def opt_number(obj: Mapping[str, Any], key: str, what: str) -> float | int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not is_number(value):
        fail(f"{what}.{key} must be a number, got {json_type(value)}")
    result: float | int = value
    return result


def opt_int(obj: Mapping[str, Any], key: str, what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        fail(f"{what}.{key} must be an integer, got {json_type(value)}")
    return value


def key_string(value: Any, what: str) -> str:
    """A device identifier as a non-empty string; numeric ids (OneNET dev_id) are accepted."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        fail(f"{what} must be a non-empty string, got {json_type(value)}")
    return value.strip()


def percent_or_none(value: float | int | None) -> int | None:
    """Battery percentage, or None when the figure is implausible.

    Vendor firmware sometimes reports nonsense (Zigbee devices reporting 200 for "half-percent
    units" done wrong). Such a figure is dropped rather than failing the whole message, because the
    door state in the same message matters more than a bad battery number.
    """
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value)
    return rounded if 0 <= rounded <= 100 else None


def millivolts_or_none(
    value: float | int | None, *, assume_volts_below: float = 100.0
) -> int | None:
    """Battery voltage in mV. Vendors report volts (3.6) or millivolts (3600) under the same key
    name; no battery we care about is below 100 mV or above 100 V, so the size tells them apart."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    millivolts = round(value * 1000) if value < assume_volts_below else round(value)
    return millivolts if millivolts <= 100_000 else None


# --- time ---------------------------------------------------------------------------------------

_FRACTION = re.compile(r"(\.\d{6})\d+")
_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: a smaller "ms" value is seconds or garbage
_EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01


def parse_iso_aware(value: Any, what: str) -> datetime:
    """An ISO 8601 timestamp with an offset, as a UTC datetime. Naive timestamps are refused:
    guessing the timezone of a door event would silently shift it by hours."""
    if not isinstance(value, str):
        fail(f"{what} must be an ISO 8601 string, got {json_type(value)}")
    # ChirpStack sends nanoseconds; datetime holds microseconds.
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{what} is not an ISO 8601 timestamp: {value[:40]!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        fail(f"{what} has no timezone offset: {value[:40]!r}")
    return parsed.astimezone(UTC)


def from_epoch_ms(value: Any, what: str) -> datetime:
    """Milliseconds since the Unix epoch (CTWing, OneNET, Z2M `last_seen: epoch`), as UTC."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        fail(f"{what} must be an integer millisecond timestamp, got {json_type(value)}")
    if not _EPOCH_MS_MIN <= value <= _EPOCH_MS_MAX:
        fail(f"{what} is not a millisecond timestamp between 2000 and 2100: {value}")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# --- base64 -------------------------------------------------------------------------------------


def decode_base64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        fail(f"{what} must be a base64 string, got {json_type(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        fail(f"{what} is not valid base64")


# --- vendor-neutral key mapping -----------------------------------------------------------------


def normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


# "door open" polarity: true / 1 / "open" means the door is open.
_DOOR_OPEN_KEYS = frozenset(
    {
        "door",
        "doorstatus",
        "doorstate",
        "dooropen",
        "dooropenstatus",
        "magnetstatus",
        "magnetstate",
        "opened",
    }
)
# "contact" polarity (Zigbee convention): true / 1 means the reed contact is made = door CLOSED.
_CONTACT_KEYS = frozenset({"contact", "contactstate", "contactstatus"})
_TAMPER_KEYS = frozenset(
    {"tamper", "tamperstatus", "tamperstate", "tamperalarm", "removed", "uninstalled", "dismantled"}
)
# "install" polarity: true / "yes" means mounted, i.e. NOT tampered (Milesight WS301 v1 decoder).
_INSTALL_KEYS = frozenset({"install", "installed", "installstatus", "installstate"})
_BATTERY_LOW_KEYS = frozenset(
    {"batterylow", "lowbattery", "batlow", "batteryalarm", "lowbatteryalarm", "batterystate"}
)
_BATTERY_PERCENT_KEYS = frozenset(
    {"battery", "batterylevel", "batterypercent", "batterypercentage", "batteryvalue", "bat"}
)
_BATTERY_VOLT_KEYS = frozenset({"batv", "batteryv", "batteryvoltage", "voltage", "vbat", "batvolt"})
_BATTERY_MV_KEYS = frozenset({"batterymv", "batmv", "voltagemv", "batteryvoltagemv"})
_SIGNAL_KEYS = frozenset({"rssi", "signal", "rsrp", "signalpower", "linkquality", "lqi"})

_OPEN_WORDS = frozenset({"open", "opened"})
_CLOSED_WORDS = frozenset({"close", "closed"})
_TRUE_WORDS = frozenset({"true", "1", "yes", "on", "alarm"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", "normal", "ok"})


@dataclass(slots=True)
class CommonFields:
    door: DoorState | None = None
    tamper: bool | None = None
    battery_low: bool | None = None
    battery_percent: int | None = None
    battery_mv: int | None = None
    signal: int | None = None


def _flag(
    value: Any, what: str, *, true_words: frozenset[str], false_words: frozenset[str]
) -> bool:
    if isinstance(value, bool):
        return value
    if is_number(value) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in true_words:
            return True
        if word in false_words:
            return False
    fail(f"{what} has a value we do not understand: {value!r:.40}")


def door_from_value(value: Any, what: str, *, contact_polarity: bool) -> DoorState:
    """Interpret one door value. Words are unambiguous; booleans and 0/1 follow the key's polarity
    (`door`-like keys: 1 = open; `contact`-like keys: 1 = contact made = closed)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _OPEN_WORDS:
            return "open"
        if word in _CLOSED_WORDS:
            return "closed"
    is_set = _flag(
        value, what, true_words=frozenset({"true", "1"}), false_words=frozenset({"false", "0"})
    )
    if contact_polarity:
        return "closed" if is_set else "open"
    return "open" if is_set else "closed"


def _number(value: Any, what: str) -> float | int:
    if is_number(value):
        result: float | int = value
        return result
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            pass
        else:
            if math.isfinite(parsed):
                return parsed
    fail(f"{what} must be a number, got {json_type(value)}")


def map_common_keys(
    obj: Mapping[str, Any], what: str, *, measurements: bool = True
) -> CommonFields:
    """Pick the door-sensor facts out of a flat JSON object with vendor-chosen key names.

    Unknown keys are ignored (platforms add temperature, counters, firmware versions…). A known
    key with a value that cannot be understood is a DecodeError naming the key. With
    `measurements=False` only flags are read (door, tamper, battery low): used for alarm events,
    whose numeric fields are alarm codes rather than measurements.
    """
    fields = CommonFields()
    for raw_key, value in obj.items():
        if value is None or not isinstance(raw_key, str):
            continue
        key = normalise_key(raw_key)
        where = f"{what}.{raw_key}"
        if key in _DOOR_OPEN_KEYS:
            fields.door = door_from_value(value, where, contact_polarity=False)
        elif key in _CONTACT_KEYS:
            fields.door = door_from_value(value, where, contact_polarity=True)
        elif key in _TAMPER_KEYS:
            fields.tamper = _flag(
                value,
                where,
                true_words=_TRUE_WORDS | {"uninstalled", "tampered", "removed"},
                false_words=_FALSE_WORDS | {"installed"},
            )
        elif key in _INSTALL_KEYS:
            fields.tamper = not _flag(
                value,
                where,
                true_words=_TRUE_WORDS | {"installed"},
                false_words=_FALSE_WORDS | {"uninstalled"},
            )
        elif key in _BATTERY_LOW_KEYS:
            if isinstance(value, int) and not isinstance(value, bool):
                # CTWing's low-battery event sample carries battery_state: 1; any non-zero state
                # code is an alarm.
                fields.battery_low = value != 0
            else:
                fields.battery_low = _flag(
                    value, where, true_words=_TRUE_WORDS | {"low"}, false_words=_FALSE_WORDS
                )
        elif not measurements:
            continue
        elif key in _BATTERY_PERCENT_KEYS:
            fields.battery_percent = percent_or_none(_number(value, where))
        elif key in _BATTERY_VOLT_KEYS:
            fields.battery_mv = millivolts_or_none(_number(value, where))
        elif key in _BATTERY_MV_KEYS:
            fields.battery_mv = millivolts_or_none(_number(value, where), assume_volts_below=0)
        elif key in _SIGNAL_KEYS:
            number = _number(value, where)
            if math.isfinite(number) and abs(number) < 1_000:
                fields.signal = round(number)
    return fields
