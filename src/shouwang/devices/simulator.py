"""Simulated door sensors: realistic traffic in every message format Shouwang decodes.

Two layers, kept apart so the first can be tested without a network or a clock:

- `DoorTraffic` generates the messages. It is pure and seedable: no clock reads, no I/O; the caller
  asks for "everything due until this (simulated) time". Each simulated sensor speaks one format:
  Zigbee2MQTT state and availability messages, ChirpStack v4 uplinks with the Milesight WS301 or
  Dragino LDS02 binary payload, or Shouwang's generic JSON.
- `run()` paces a `DoorTraffic` against a clock (injectable, so tests need no sleeping) and hands
  what is due to a transport: `MqttTransport` (QoS 1, one MQTT message per device message, the
  topics the real networks use) or `HttpTransport` (generic batches, one request per batch).

Realism. Each door opens as a Poisson process around a per-device mean (some households come and
go far more than others), following a daily rhythm in local time (busy around 07:30 and 18:30,
quiet at night); a door stays open for seconds to minutes, then closes. Every sensor also sends
periodic heartbeats with its full state. Batteries drain with every transmission, a few weak ones
fast enough to go low during a run; now and then a sensor is tampered with (and put back), and
rarely one goes quiet for some minutes (Zigbee2MQTT then reports it offline, then online again).

Rate. `rate` is the mean number of messages per second over a day: a share `DOOR_SHARE` of it is
door open/close messages, which follow the daily rhythm (from about 0.2x at night to about 3x at
the morning peak), the rest heartbeats, which do not. `flat=True` removes the rhythm, so the rate
is the same at every hour (for load tests). Tamper and availability messages come on top and are
rare (a few per device per day).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import heapq
import http.client
import json
import logging
import math
import random
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

FORMATS = ("zigbee2mqtt", "ws301", "lds02", "generic")
ADAPTER_FOR_FORMAT = {
    "zigbee2mqtt": "zigbee2mqtt",
    "ws301": "chirpstack",
    "lds02": "chirpstack",
    "generic": "generic",
}
# Formats whose messages can say "tampered / removed from the door" (the LDS02 cannot).
_TAMPER_FORMATS = frozenset({"zigbee2mqtt", "ws301", "generic"})
_CHIRPSTACK = {
    # format: (IEEE OUI of the vendor, ChirpStack device-profile name, fPort)
    "ws301": ("24e124", "Milesight WS301", 85),
    "lds02": ("a84041", "Dragino LDS02", 10),
}
SHANGHAI = ZoneInfo("Asia/Shanghai")

DOOR_SHARE = 0.7  # of the mean rate: door open/close messages; the rest are heartbeats
TAMPERS_PER_DAY = 1.0  # per device (formats with a tamper switch)
QUIET_PER_DAY = 0.5  # per device
QUIET_SECONDS = (180.0, 1200.0)
# Zigbee2MQTT marks a silent device offline after its availability timeout (25 h for battery
# devices by default); the simulation shortens that so a run shows it.
Z2M_OFFLINE_AFTER = 120.0
OPEN_SECONDS_MEDIAN = 15.0
OPEN_SECONDS_SIGMA = 1.1  # log-normal: most stays 3 s to 1.5 min, a few several minutes
OPEN_SECONDS_MAX = 900.0
WEAK_BATTERY_SHARE = 0.08  # of devices, with a battery about to go low
_WEAK_DRAIN = 0.03  # percent per transmission
_NORMAL_DRAIN = 0.001


class SimulatorError(Exception):
    """A misconfiguration the operator must fix (bad URL, bad key, wrong format for HTTP…)."""


# --- the daily rhythm ---------------------------------------------------------------------------


def _bump(hour: float, centre: float, width: float) -> float:
    distance = abs(hour - centre) % 24.0
    distance = min(distance, 24.0 - distance)
    return math.exp(-0.5 * (distance / width) ** 2)


def _raw_profile(hour: float) -> float:
    return (
        0.12
        + 1.5 * _bump(hour, 7.4, 0.9)  # leaving for work and school
        + 0.5 * _bump(hour, 12.0, 1.0)  # lunch, shopping
        + 1.2 * _bump(hour, 18.6, 1.4)  # coming home
        + 0.5 * _bump(hour, 21.0, 1.2)  # evening walk, rubbish out
    )


_SAMPLES = [_raw_profile(minute / 60.0) for minute in range(24 * 60)]
_PROFILE_MEAN = sum(_SAMPLES) / len(_SAMPLES)
# An upper bound of the normalised profile, for thinning (the margin covers the sampling step).
_PROFILE_MAX = max(_SAMPLES) / _PROFILE_MEAN * 1.02


def daily_profile(hour: float) -> float:
    """How busy doors are at a local hour of the day, relative to the daily mean (mean 1.0)."""
    return _raw_profile(hour % 24.0) / _PROFILE_MEAN


# --- what the generator produces ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One message a simulated device (or its network) sends, ready for either transport."""

    at: datetime  # simulated time (UTC), the time the message itself carries
    device: str  # the device's id as Shouwang knows it (friendly name, DevEUI, generic id)
    format: str  # one of FORMATS
    kind: str  # open, close, heartbeat, tamper, tamper_cleared, online, offline
    topic: str  # MQTT topic
    payload: bytes  # MQTT payload
    retain: bool = False
    # The generic JSON object with its "device", for HTTP batches; None for non-generic formats.
    http_item: dict[str, Any] | None = None
    # What Shouwang's adapter must read from it: Reading field -> value.
    expected: Mapping[str, Any] = field(default_factory=dict)

    @property
    def adapter(self) -> str:
        return ADAPTER_FOR_FORMAT[self.format]


@dataclass(slots=True)
class SimDevice:
    index: int
    name: str
    key: str  # device_key as the adapter reports it
    format: str
    opens_per_second: float  # at the daily mean
    heartbeat_every: float  # seconds
    battery: float  # percent, drains
    drain: float  # percent per transmission
    signal: int  # base LQI (Zigbee) or RSSI (dBm)
    door_open: bool = False
    opened_at: float = 0.0
    open_count: int = 0
    last_open_seconds: float = 0.0
    tamper: bool = False
    quiet_until: float | None = None
    f_cnt: int = 0
    dev_addr: str = ""
    sequence: int = 0

    @property
    def battery_percent(self) -> int:
        return max(0, min(100, round(self.battery)))

    @property
    def door(self) -> str:
        return "open" if self.door_open else "closed"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _iso_ms(at: datetime, tz: tzinfo = UTC) -> str:
    text = at.astimezone(tz).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if tz is UTC else text


class DoorTraffic:
    """The messages of `devices` door sensors from `start` on, in time order.

    Pure and deterministic: the same arguments give the same messages. Call `startup()` once
    (retained availability), then `until(t)` repeatedly with a growing simulated time.
    """

    def __init__(
        self,
        *,
        start: datetime,
        devices: int = 10,
        rate: float = 1.0,
        formats: Sequence[str] = FORMATS,
        seed: int | None = None,
        prefix: str = "sim",
        keys: Sequence[str] | None = None,
        flat: bool = False,
        tz: tzinfo = SHANGHAI,
        z2m_base: str = "zigbee2mqtt",
        application_id: str | None = None,
        tampers_per_day: float = TAMPERS_PER_DAY,
        quiet_per_day: float = QUIET_PER_DAY,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if rate <= 0 or not math.isfinite(rate):
            raise ValueError("rate must be a positive number of messages per second")
        formats = list(formats)
        unknown = sorted(set(formats) - set(FORMATS))
        if not formats or unknown:
            raise ValueError(f"unknown format(s) {unknown}; known: {', '.join(FORMATS)}")
        if keys is not None:
            keys = [k.strip() for k in keys if k.strip()]
            devices = len(keys)
        if devices < 1:
            raise ValueError("at least one device is needed")
        self.start = start.astimezone(UTC)
        self.rate = float(rate)
        self.flat = flat
        self.tz = tz
        self.prefix = prefix
        self.z2m_base = z2m_base.strip("/")
        self.tampers_per_day = tampers_per_day
        self.quiet_per_day = quiet_per_day
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        self._run_id = f"{seed}:{self.start.isoformat()}:{prefix}"
        self._tag = hashlib.sha256(self._run_id.encode()).hexdigest()[:10]
        self.application_id = application_id or str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"shouwang-simulator:{prefix}")
        )
        self._gateway = hashlib.sha256(f"gateway:{prefix}".encode()).hexdigest()[:16]
        offset = self.start.astimezone(tz).utcoffset() or timedelta(0)
        self._local_epoch = self.start.timestamp() + offset.total_seconds()
        self._heap: list[tuple[float, int, int, str]] = []
        self._pushed = 0
        self._info_cache: dict[int, dict[str, Any]] = {}
        self.devices = self._make_devices(devices, formats, keys)
        for device in self.devices:
            self._schedule_first(device)

    # --- set-up ---------------------------------------------------------------------------------

    def _make_devices(
        self, count: int, formats: Sequence[str], keys: Sequence[str] | None
    ) -> list[SimDevice]:
        rng = self.rng
        weights = [rng.lognormvariate(0.0, 0.6) for _ in range(count)]
        mean_weight = sum(weights) / count
        opens_per_second = self.rate * DOOR_SHARE / 2 / count
        heartbeat_every = count / (self.rate * (1 - DOOR_SHARE))
        weak_count = max(1, round(count * WEAK_BATTERY_SHARE)) if count >= 6 else 0
        weak = set(rng.sample(range(count), weak_count))
        devices: list[SimDevice] = []
        for index in range(count):
            fmt = formats[index % len(formats)]
            name = keys[index] if keys is not None else f"{self.prefix}-{index + 1:04d}"
            key = name
            if fmt in _CHIRPSTACK:
                oui = _CHIRPSTACK[fmt][0]
                if keys is not None and re.fullmatch(r"[0-9a-fA-F]{16}", name):
                    key = name.lower()
                else:
                    key = oui + hashlib.sha256(f"{self.prefix}:{name}".encode()).hexdigest()[:10]
            if fmt == "zigbee2mqtt":
                signal = rng.randint(30, 220)
            elif fmt == "generic":
                signal = rng.randint(-105, -60)
            else:
                signal = rng.randint(-118, -75)
            is_weak = index in weak
            devices.append(
                SimDevice(
                    index=index,
                    name=name,
                    key=key,
                    format=fmt,
                    opens_per_second=opens_per_second * weights[index] / mean_weight,
                    heartbeat_every=heartbeat_every,
                    battery=rng.uniform(20.6, 23.4) if is_weak else rng.uniform(55.0, 100.0),
                    drain=_WEAK_DRAIN if is_weak else _NORMAL_DRAIN,
                    signal=signal,
                    f_cnt=rng.randint(0, 3000),
                    dev_addr=f"{rng.getrandbits(32):08x}",
                )
            )
        return devices

    def _schedule_first(self, device: SimDevice) -> None:
        rng = self.rng
        self._push(self._next_open(device, 0.0), device, "open")
        self._push(rng.uniform(0.0, device.heartbeat_every), device, "heartbeat")
        if device.format in _TAMPER_FORMATS:
            self._push_rare(0.0, device, "tamper", self.tampers_per_day)
        self._push_rare(0.0, device, "quiet", self.quiet_per_day)

    def _push(self, t: float, device: SimDevice, action: str) -> None:
        self._pushed += 1
        heapq.heappush(self._heap, (t, self._pushed, device.index, action))

    def _push_rare(self, t: float, device: SimDevice, action: str, per_day: float) -> None:
        if per_day > 0:
            self._push(t + self.rng.expovariate(per_day / 86400), device, action)

    # --- time -----------------------------------------------------------------------------------

    def _at(self, t: float) -> datetime:
        return self.start + timedelta(milliseconds=round(t * 1000))

    def offset(self, at: datetime) -> float:
        """Seconds from the start to `at`."""
        return (at - self.start).total_seconds()

    def profile(self, t: float) -> float:
        """The daily-rhythm factor `t` seconds after start (1.0 when flat)."""
        if self.flat:
            return 1.0
        return daily_profile(((self._local_epoch + t) / 3600.0) % 24.0)

    def rate_at(self, at: datetime) -> float:
        """Expected messages per second at `at` (without the rare tamper/availability ones)."""
        return self.rate * (DOOR_SHARE * self.profile(self.offset(at)) + 1 - DOOR_SHARE)

    def expected_messages(self, begin: datetime, end: datetime) -> float:
        """Expected number of messages in [begin, end) (integral of `rate_at`, minute steps)."""
        t0, t1 = self.offset(begin), self.offset(end)
        steps = max(1, math.ceil((t1 - t0) / 60.0))
        width = (t1 - t0) / steps
        total = 0.0
        for step in range(steps):
            middle = self._at(t0 + (step + 0.5) * width)
            total += self.rate_at(middle) * width
        return total

    def next_offset(self) -> float | None:
        """Seconds from the start to the next thing that happens (not rounded)."""
        return self._heap[0][0] if self._heap else None

    # --- generation -----------------------------------------------------------------------------

    def startup(self) -> list[Message]:
        """What a network publishes once at the start: retained Zigbee2MQTT availability."""
        return [
            self._availability(device, 0.0, online=True)
            for device in self.devices
            if device.format == "zigbee2mqtt"
        ]

    def until(self, at: datetime) -> list[Message]:
        """Every message due up to and including simulated time `at`, in time order."""
        return self.until_offset(self.offset(at))

    def until_offset(self, limit: float) -> list[Message]:
        """Every message due up to and including `limit` seconds after the start."""
        out: list[Message] = []
        while self._heap and self._heap[0][0] <= limit:
            t, _, index, action = heapq.heappop(self._heap)
            getattr(self, f"_on_{action}")(self.devices[index], t, out)
        return out

    def _next_open(self, device: SimDevice, t: float) -> float:
        # Non-homogeneous Poisson process by thinning: candidates at the peak rate, each kept
        # with probability profile(t) / peak.
        peak = _PROFILE_MAX if not self.flat else 1.0
        while True:
            t += self.rng.expovariate(device.opens_per_second * peak)
            if self.rng.random() * peak <= self.profile(t):
                return t

    def _on_open(self, device: SimDevice, t: float, out: list[Message]) -> None:
        following = self._next_open(device, t)
        self._push(following, device, "open")
        # Closed before the next opening: a stay is seconds to minutes, shortened only when the
        # chosen rate packs openings closer than that.
        stay = min(
            self.rng.lognormvariate(math.log(OPEN_SECONDS_MEDIAN), OPEN_SECONDS_SIGMA),
            OPEN_SECONDS_MAX,
        )
        stay = min(max(stay, 2.0), 0.8 * (following - t))
        device.door_open, device.opened_at = True, t
        device.open_count += 1
        self._push(t + stay, device, "close")
        self._emit(device, t, "open", out)

    def _on_close(self, device: SimDevice, t: float, out: list[Message]) -> None:
        device.door_open = False
        device.last_open_seconds = t - device.opened_at
        self._emit(device, t, "close", out)

    def _on_heartbeat(self, device: SimDevice, t: float, out: list[Message]) -> None:
        self._push(t + device.heartbeat_every * self.rng.uniform(0.9, 1.1), device, "heartbeat")
        self._emit(device, t, "heartbeat", out)

    def _on_tamper(self, device: SimDevice, t: float, out: list[Message]) -> None:
        self._push_rare(t, device, "tamper", self.tampers_per_day)
        if device.tamper:
            return
        device.tamper = True
        self._push(t + self.rng.uniform(60.0, 900.0), device, "tamper_clear")
        self._emit(device, t, "tamper", out)

    def _on_tamper_clear(self, device: SimDevice, t: float, out: list[Message]) -> None:
        device.tamper = False
        self._emit(device, t, "tamper_cleared", out)

    def _on_quiet(self, device: SimDevice, t: float, out: list[Message]) -> None:
        self._push_rare(t, device, "quiet", self.quiet_per_day)
        if device.quiet_until is not None:
            return
        duration = self.rng.uniform(*QUIET_SECONDS)
        device.quiet_until = t + duration
        if device.format == "zigbee2mqtt":
            self._push(t + min(Z2M_OFFLINE_AFTER, duration / 2), device, "offline")
        self._push(t + duration, device, "back")

    def _on_offline(self, device: SimDevice, t: float, out: list[Message]) -> None:
        out.append(self._availability(device, t, online=False))

    def _on_back(self, device: SimDevice, t: float, out: list[Message]) -> None:
        device.quiet_until = None
        if device.format == "zigbee2mqtt":
            out.append(self._availability(device, t, online=True))
        self._emit(device, t, "heartbeat", out)

    # --- messages -------------------------------------------------------------------------------

    def _emit(self, device: SimDevice, t: float, kind: str, out: list[Message]) -> None:
        if device.quiet_until is not None and t < device.quiet_until:
            return  # the radio is silent: the message never reaches the network
        device.battery = max(1.0, device.battery - device.drain)
        device.sequence += 1
        build = {
            "zigbee2mqtt": self._zigbee2mqtt,
            "ws301": self._chirpstack,
            "lds02": self._chirpstack,
            "generic": self._generic,
        }[device.format]
        out.append(build(device, t, kind))

    def _jitter(self, device: SimDevice, spread: int, low: int, high: int) -> int:
        return max(low, min(high, device.signal + self.rng.randint(-spread, spread)))

    def _availability(self, device: SimDevice, t: float, *, online: bool) -> Message:
        state = "online" if online else "offline"
        return Message(
            at=self._at(t),
            device=device.key,
            format=device.format,
            kind=state,
            topic=f"{self.z2m_base}/{device.key}/availability",
            payload=json.dumps({"state": state}).encode(),
            retain=True,
            expected={"device_key": device.key, "kind": "availability", "online": online},
        )

    def _zigbee2mqtt(self, device: SimDevice, t: float, kind: str) -> Message:
        at = self._at(t)
        percent = device.battery_percent
        voltage = round(2850 + 1.5 * device.battery)  # CR1632: 3.0 V full, ~2.85 V empty
        lqi = self._jitter(device, 8, 1, 255)
        state = {
            "battery": percent,
            "contact": not device.door_open,  # reed contact made = door closed
            "device_temperature": 18 + device.index % 9,
            "last_seen": _iso_ms(at),
            "linkquality": lqi,
            "power_outage_count": 3 + device.index % 40,
            "tamper": device.tamper,
            "voltage": voltage,
        }
        return Message(
            at=at,
            device=device.key,
            format=device.format,
            kind=kind,
            topic=f"{self.z2m_base}/{device.key}",
            payload=json.dumps(state, separators=(",", ":")).encode(),
            expected={
                "device_key": device.key,
                "kind": "state",
                "event_time": at,
                "door": device.door,
                "battery_percent": percent,
                "battery_mv": voltage,
                "tamper": device.tamper,
                "signal": lqi,
            },
        )

    def _chirpstack(self, device: SimDevice, t: float, kind: str) -> Message:
        at = self._at(t)
        _, profile, f_port = _CHIRPSTACK[device.format]
        expected: dict[str, Any] = {
            "device_key": device.key,
            "kind": "state",
            "event_time": at,
            "door": device.door,
        }
        if device.format == "ws301":
            # Channel TLV: 01 75 battery %, 03 00 door (0 close / 1 open), 04 00 install state
            # (0 installed / 1 uninstalled = tampered).
            percent = device.battery_percent
            data = bytes(
                [0x01, 0x75, percent, 0x03, 0x00, int(device.door_open), 0x04, 0x00, device.tamper]
            )
            expected |= {"battery_percent": percent, "tamper": device.tamper}
        else:
            # LDS02, fPort 10: bit 15 door open + battery mV, MOD 1, open count (3 bytes), last
            # open duration in minutes (3 bytes), alarm flag.
            millivolts = round(2500 + 6 * device.battery)  # 2 x AAA: 3.1 V full
            first = (0x8000 if device.door_open else 0) | (millivolts & 0x3FFF)
            minutes = min(int(device.last_open_seconds // 60), 0xFFFFFF)
            data = (
                first.to_bytes(2, "big")
                + b"\x01"
                + (device.open_count & 0xFFFFFF).to_bytes(3, "big")
                + minutes.to_bytes(3, "big")
                + b"\x00"
            )
            expected |= {"battery_mv": millivolts}
        rssi = self._jitter(device, 3, -130, -30)
        snr = round((rssi + 120) / 4 + self.rng.uniform(-2.0, 2.0), 1)
        dedup = str(
            uuid.UUID(
                bytes=hashlib.sha256(
                    f"{self._run_id}:{device.index}:{device.sequence}".encode()
                ).digest()[:16],
                version=4,
            )
        )
        expected |= {"signal": rssi, "dedup_key": dedup}
        message: dict[str, Any] = {
            "deduplicationId": dedup,
            "time": at.isoformat(timespec="microseconds"),
            "deviceInfo": self._device_info(device, profile),
            "devAddr": device.dev_addr,
            "adr": True,
            "dr": 5,
        }
        # The Protobuf JSON mapping leaves zero values out: a frame counter of 0 has no key.
        if device.f_cnt:
            message["fCnt"] = device.f_cnt
        device.f_cnt = (device.f_cnt + 1) & 0xFFFFFFFF
        message |= {
            "fPort": f_port,
            "confirmed": False,
            "data": base64.b64encode(data).decode(),
            "rxInfo": [
                {
                    "gatewayId": self._gateway,
                    "uplinkId": self.rng.getrandbits(32),
                    "nsTime": (at + timedelta(milliseconds=40)).isoformat(timespec="microseconds"),
                    "rssi": rssi,
                    "snr": snr,
                    "channel": device.index % 8,
                    "location": {},
                    "context": base64.b64encode(self.rng.randbytes(4)).decode(),
                    "metadata": {"region_config_id": "cn470_10", "region_common_name": "CN470"},
                    "crcStatus": "CRC_OK",
                }
            ],
            "txInfo": {
                "frequency": 486_300_000 + 200_000 * (device.index % 8),
                "modulation": {
                    "lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}
                },
            },
        }
        return Message(
            at=at,
            device=device.key,
            format=device.format,
            kind=kind,
            topic=f"application/{self.application_id}/device/{device.key}/event/up",
            payload=json.dumps(message, separators=(",", ":")).encode(),
            expected=expected,
        )

    def _device_info(self, device: SimDevice, profile: str) -> dict[str, Any]:
        info = self._info_cache.get(device.index)
        if info is None:
            info = self._info_cache[device.index] = {
                "tenantId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"shouwang-tenant:{self.prefix}")),
                "tenantName": "Shouwang",
                "applicationId": self.application_id,
                "applicationName": "door-sensors",
                "deviceProfileId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"shouwang:{profile}")),
                "deviceProfileName": profile,
                "deviceName": device.name,
                "devEui": device.key,
                "deviceClassEnabled": "CLASS_A",
                "tags": {},
            }
        return info

    def _generic(self, device: SimDevice, t: float, kind: str) -> Message:
        at = self._at(t)
        percent = device.battery_percent
        rssi = self._jitter(device, 3, -130, -30)
        # Unique across runs (the tag hashes seed, start and prefix) and within one.
        message_id = f"{self._tag}-{device.index:x}-{device.sequence:x}"
        item: dict[str, Any] = {
            "time": _iso_ms(at, self.tz),
            "door": device.door,
            "battery": percent,
            "tamper": device.tamper,
            "signal": rssi,
            "id": message_id,
        }
        return Message(
            at=at,
            device=device.key,
            format=device.format,
            kind=kind,
            topic=f"shouwang/generic/{device.key}",
            payload=json.dumps(item, separators=(",", ":")).encode(),
            http_item={"device": device.key, **item},
            expected={
                "device_key": device.key,
                "kind": "state",
                "event_time": at,
                "door": device.door,
                "battery_percent": percent,
                "tamper": device.tamper,
                "signal": rssi,
                "dedup_key": message_id,
            },
        )


# --- transports ---------------------------------------------------------------------------------


class TransportError(Exception):
    def __init__(self, reason: str, *, fatal: bool = False) -> None:
        super().__init__(reason)
        self.fatal = fatal  # retrying will not help (bad key, refused format)


class Transport(Protocol):
    async def start(self, messages: Sequence[Message]) -> None: ...

    async def send(self, messages: Sequence[Message]) -> None: ...

    async def close(self) -> None: ...


class HttpTransport:
    """Generic batches to `POST <url>/api/v1/ingest/generic`, one request per batch.

    Requests go one after another over one keep-alive connection, from a worker thread (the
    standard library's http.client), so a slow server slows the simulator instead of piling up
    requests. A 2xx answer means the server has committed the batch.
    """

    def __init__(self, url: str, key: str, *, batch: int = 500, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SimulatorError(f"--http must be an http:// or https:// URL, got {url!r}")
        if not key:
            raise SimulatorError("an ingest key for the generic adapter is needed (--key)")
        if not 1 <= batch <= 1000:
            raise SimulatorError("a batch holds 1 to 1000 messages")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.path = parts.path.rstrip("/") + "/api/v1/ingest/generic"
        self.key = key
        self.batch = batch
        self.timeout = timeout
        self.requests = 0
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            if self.https:
                self._connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout
                )
            else:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
        return self._connection

    def _post(self, body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.key}",
        }
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._connection = None
                if attempt == 2:
                    raise TransportError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
                continue  # a keep-alive connection the server had closed: reconnect once
            self.requests += 1
            if 200 <= response.status < 300:
                return
            detail = answer.decode("utf-8", errors="replace")[:300]
            raise TransportError(
                f"HTTP {response.status}: {detail}", fatal=response.status in (401, 403, 404)
            )

    async def start(self, messages: Sequence[Message]) -> None:
        await self.send(messages)

    async def send(self, messages: Sequence[Message]) -> None:
        items = [m.http_item for m in messages]
        if any(item is None for item in items):
            raise TransportError("only generic messages can be sent over HTTP", fatal=True)
        for chunk in _chunks(items, self.batch):
            body = json.dumps(list(chunk), separators=(",", ":"), ensure_ascii=False).encode()
            await asyncio.to_thread(self._post, body)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class MqttTransport:
    """Each message as one MQTT publish at QoS 1, on the topic its network uses."""

    def __init__(self, url: str, *, client_id: str | None = None, window: int = 100) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise SimulatorError(f"--mqtt must be an mqtt:// or mqtts:// URL, got {url!r}")
        self.hostname = parts.hostname
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.port = parts.port or (8883 if self.tls else 1883)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.client_id = client_id or f"shouwang-simulator-{uuid.uuid4().hex[:8]}"
        self.window = window  # publishes awaiting their PUBACK at once
        self._client: Any = None

    async def start(self, messages: Sequence[Message]) -> None:
        import aiomqtt

        self._client = aiomqtt.Client(
            self.hostname,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id,
            tls_context=ssl.create_default_context() if self.tls else None,
            max_inflight_messages=self.window,
        )
        try:
            await self._client.__aenter__()
        except aiomqtt.MqttError as exc:
            self._client = None
            raise TransportError(
                f"cannot connect to MQTT broker {self.hostname}:{self.port}: {exc}", fatal=True
            ) from exc
        await self.send(messages)

    async def send(self, messages: Sequence[Message]) -> None:
        import aiomqtt

        client = self._client
        if client is None:
            raise TransportError("not connected", fatal=True)
        try:
            for chunk in _chunks(messages, self.window):
                # Started in order, so they leave in order; then wait for all PUBACKs.
                await asyncio.gather(
                    *(
                        client.publish(m.topic, m.payload, qos=1, retain=m.retain, timeout=30)
                        for m in chunk
                    )
                )
        except aiomqtt.MqttError as exc:
            raise TransportError(f"MQTT publish failed: {exc}", fatal=True) from exc

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.__aexit__(None, None, None)
            except Exception:  # closing a broken connection may fail too
                log.debug("MQTT disconnect failed", exc_info=True)


# --- pacing -------------------------------------------------------------------------------------


@dataclass
class RunStats:
    sent: Counter[str] = field(default_factory=Counter)  # by message kind
    failed: int = 0
    startup: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.total,
            "by_kind": dict(sorted(self.sent.items())),
            "failed": self.failed,
            "startup": self.startup,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.total / self.seconds, 2) if self.seconds else 0.0,
        }


async def run(
    traffic: DoorTraffic,
    transport: Transport,
    *,
    duration: float | None = None,
    interval: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    stop: threading.Event | None = None,
) -> RunStats:
    """Send `traffic` through `transport` as it falls due, for `duration` seconds or until
    `stop` is set (or the task is cancelled).

    Simulated time is `traffic.start` plus the clock's elapsed seconds. With `interval` 0 each
    message goes out at its own time; otherwise what fell due is sent every `interval` seconds
    (one HTTP request per batch).
    """
    stats = RunStats()
    startup = traffic.startup()
    await transport.start(startup)
    stats.startup = len(startup)
    began = clock()
    next_send = 0.0
    try:
        while True:
            elapsed = clock() - began
            finished = (duration is not None and elapsed >= duration) or (
                stop is not None and stop.is_set()
            )
            if duration is not None:
                elapsed = min(elapsed, duration)
            if finished or elapsed >= next_send:
                due = traffic.until_offset(elapsed)
                if due:
                    await _send(transport, due, stats)
                if interval > 0:
                    # Keep the cadence; after a slow send, the next one goes at once.
                    next_send = max(next_send + interval, elapsed)
            if finished:
                break
            if interval > 0:
                wait = next_send - elapsed
            else:
                upcoming = traffic.next_offset()
                wait = 1.0 if upcoming is None else upcoming - elapsed
            # Wake at least once a second, so a stop request is noticed.
            wait = min(max(wait, 0.0), 1.0)
            if duration is not None:
                wait = min(wait, duration - elapsed)
            await sleep(wait + 1e-6)
    finally:
        stats.seconds = clock() - began
        await transport.close()
    return stats


async def _send(transport: Transport, due: list[Message], stats: RunStats) -> None:
    try:
        await transport.send(due)
    except TransportError as exc:
        stats.failed += len(due)
        if len(stats.errors) < 20:
            stats.errors.append(str(exc))
        if exc.fatal:
            raise
        log.warning("simulator: %d messages not sent: %s", len(due), exc)
    else:
        stats.sent.update(m.kind for m in due)


def wait_until_listening(host: str, port: int, *, timeout: float = 600.0) -> bool:
    """Block until something accepts TCP connections on host:port (or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run_in_background(
    make_traffic: Callable[[], DoorTraffic],
    make_transport: Callable[[], Transport],
    *,
    interval: float = 0.0,
    wait_for: tuple[str, int] | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Run the simulator in a daemon thread (its own event loop), optionally once a server is
    listening. Returns the thread and an event that stops it."""
    stop = threading.Event()

    def target() -> None:
        if wait_for is not None and not wait_until_listening(*wait_for):
            log.warning("simulator: nothing listening on %s:%d; not started", *wait_for)
            return
        if stop.is_set():
            return
        try:
            stats = asyncio.run(run(make_traffic(), make_transport(), interval=interval, stop=stop))
        except Exception:
            log.exception("simulator stopped")
        else:
            log.info("simulator finished: %s", stats.as_dict())

    thread = threading.Thread(target=target, name="shouwang-simulator", daemon=True)
    thread.start()
    return thread, stop
