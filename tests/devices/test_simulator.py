"""The door-sensor simulator: what it sends decodes with our own adapters, at the rate asked."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters import ADAPTERS, Reading
from shouwang.devices.models import Device, DeviceEvent
from shouwang.devices.services.keys import create_ingest_key
from shouwang.devices.simulator import (
    FORMATS,
    DoorTraffic,
    HttpTransport,
    Message,
    MqttTransport,
    daily_profile,
    run,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Midnight in Shanghai on a weekday.
MIDNIGHT = datetime(2024, 5, 7, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)


def decode(message: Message) -> Reading:
    readings = ADAPTERS[message.adapter].decode_mqtt(  # type: ignore[attr-defined]
        message.topic, message.payload
    )
    assert len(readings) == 1, message
    reading: Reading = readings[0]
    return reading


def assert_decodes_as_intended(message: Message, reading: Reading) -> None:
    assert reading.adapter == message.adapter
    for name, value in message.expected.items():
        assert getattr(reading, name) == value, (name, message.topic, message.payload[:200])


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class Recorder:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.startup: list[Message] = []
        self.batches: list[tuple[float, list[Message]]] = []
        self.closed = False

    async def start(self, messages: Sequence[Message]) -> None:
        self.startup = list(messages)

    async def send(self, messages: Sequence[Message]) -> None:
        self.batches.append((self.clock.now, list(messages)))

    async def close(self) -> None:
        self.closed = True


# --- every format decodes to what the simulated device meant --------------------------------------


def test_every_message_of_every_format_decodes_to_the_intended_state() -> None:
    # Two busy hours of a morning, with tamper and going quiet made frequent so they show up.
    traffic = DoorTraffic(
        start=MIDNIGHT + timedelta(hours=6),
        devices=24,
        rate=4,
        seed=11,
        tampers_per_day=100,
        quiet_per_day=40,
    )
    messages = traffic.startup() + traffic.until(traffic.start + timedelta(hours=2))
    assert len(messages) > 20_000
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    battery: dict[str, list[int]] = defaultdict(list)
    door: dict[str, str] = {}
    for message in messages:
        reading = decode(message)
        assert_decodes_as_intended(message, reading)
        kinds[message.format][message.kind] += 1
        if reading.kind != "state":
            continue
        # Every state message says where the door is and how full the battery is.
        assert reading.door in ("open", "closed")
        assert reading.battery_percent is not None or reading.battery_mv is not None
        battery[message.device].append(reading.battery_percent or reading.battery_mv or 0)
        # Doors open, then close: an opening never follows an opening.
        if message.kind in ("open", "close"):
            assert door.get(message.device) != reading.door, message.device
        door[message.device] = reading.door

    for fmt in FORMATS:
        assert {"open", "close", "heartbeat"} <= set(kinds[fmt]), fmt
    for fmt in ("zigbee2mqtt", "ws301", "generic"):
        assert kinds[fmt]["tamper"] > 0, fmt
    assert kinds["lds02"]["tamper"] == 0  # the LDS02 has no tamper switch
    assert kinds["zigbee2mqtt"]["offline"] > 0
    assert kinds["zigbee2mqtt"]["online"] > kinds["zigbee2mqtt"]["offline"]

    # Batteries only drain; a weak one goes low, the others stay well above.
    for values in battery.values():
        assert values == sorted(values, reverse=True)
    percents = [d.battery_percent for d in traffic.devices]
    assert any(p <= 20 for p in percents)
    assert sum(p > 50 for p in percents) >= len(percents) * 3 // 4


def test_message_formats_are_the_real_ones() -> None:
    traffic = DoorTraffic(start=MIDNIGHT, devices=4, rate=40, seed=2, prefix="t", flat=True)
    messages = traffic.until(traffic.start + timedelta(seconds=30))
    by_format = {m.format: m for m in reversed(messages)}

    z2m = by_format["zigbee2mqtt"]
    assert z2m.topic == "zigbee2mqtt/t-0001"
    state = json.loads(z2m.payload)
    assert state["contact"] is (z2m.expected["door"] == "closed")  # contact made = closed
    assert {"battery", "voltage", "linkquality", "tamper", "last_seen"} <= set(state)
    assert state["last_seen"].endswith("Z")

    for fmt, (oui, port) in {"ws301": ("24e124", 85), "lds02": ("a84041", 10)}.items():
        up = by_format[fmt]
        assert up.topic == f"application/{traffic.application_id}/device/{up.device}/event/up"
        assert up.device.startswith(oui)
        body = json.loads(up.payload)
        assert body["fPort"] == port
        assert body["deviceInfo"]["devEui"] == up.device
        assert uuid.UUID(body["deduplicationId"]).version == 4
        assert body["rxInfo"][0]["rssi"] == up.expected["signal"]

    generic = by_format["generic"]
    assert generic.topic == "shouwang/generic/t-0004"
    assert generic.http_item is not None
    assert generic.http_item["device"] == "t-0004"
    assert json.loads(generic.payload) == {
        k: v for k, v in generic.http_item.items() if k != "device"
    }
    assert generic.http_item["time"].endswith("+08:00")

    # Zigbee2MQTT availability is retained, on the device's availability topic.
    online = traffic.startup()
    assert [m.topic for m in online] == ["zigbee2mqtt/t-0001/availability"]
    assert online[0].retain
    assert decode(online[0]).online is True


def test_generic_http_batches_decode_like_the_mqtt_messages() -> None:
    traffic = DoorTraffic(start=MIDNIGHT, devices=30, rate=20, seed=5, formats=["generic"])
    messages = traffic.until(traffic.start + timedelta(minutes=10))
    assert messages
    for start in range(0, len(messages), 500):
        batch = messages[start : start + 500]
        body = json.dumps([m.http_item for m in batch]).encode()
        readings = ADAPTERS["generic"].decode_http(body, {}, {})  # type: ignore[attr-defined]
        for message, reading in zip(batch, readings, strict=True):
            assert_decodes_as_intended(message, reading)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    formats=st.lists(st.sampled_from(FORMATS), min_size=1, max_size=4, unique=True),
    devices=st.integers(1, 12),
    rate=st.floats(0.5, 50),
    hour=st.integers(0, 23),
)
def test_any_configuration_decodes_to_the_intended_state(
    seed: int, formats: list[str], devices: int, rate: float, hour: int
) -> None:
    traffic = DoorTraffic(
        start=MIDNIGHT + timedelta(hours=hour),
        devices=devices,
        rate=rate,
        formats=formats,
        seed=seed,
        tampers_per_day=500,
        quiet_per_day=200,
    )
    for message in traffic.startup() + traffic.until(traffic.start + timedelta(seconds=60)):
        assert_decodes_as_intended(message, decode(message))


def test_same_seed_same_traffic() -> None:
    def payloads(seed: int) -> list[bytes]:
        traffic = DoorTraffic(start=MIDNIGHT, devices=8, rate=10, seed=seed)
        return [m.payload for m in traffic.until(traffic.start + timedelta(minutes=5))]

    assert payloads(1) == payloads(1)
    assert payloads(1) != payloads(2)


def test_device_ids_can_be_given() -> None:
    keys = ["demo-door-001", "demo-door-002", "demo-door-003"]
    traffic = DoorTraffic(start=MIDNIGHT, keys=keys, rate=5, formats=["generic"], seed=1)
    messages = traffic.until(traffic.start + timedelta(minutes=5))
    assert {m.device for m in messages} == set(keys)


# --- rate and rhythm ------------------------------------------------------------------------------


def test_rate_is_honoured_over_a_simulated_window_without_sleeping() -> None:
    clock = FakeClock()
    recorder = Recorder(clock)
    traffic = DoorTraffic(start=MIDNIGHT, devices=50, rate=20, seed=3, flat=True)
    stats = asyncio.run(
        run(traffic, recorder, duration=1800, clock=clock, sleep=clock.sleep, interval=0.0)
    )
    sent = [m for _, batch in recorder.batches for m in batch]
    assert stats.total == len(sent)
    assert len(sent) == pytest.approx(20 * 1800, rel=0.03)
    assert clock.now == pytest.approx(1800, abs=0.01)
    assert recorder.closed
    # Each message left at its own time: never early, and (interval 0) never late.
    for at, batch in recorder.batches:
        now = traffic.start + timedelta(seconds=at)
        for message in batch:
            assert now - timedelta(milliseconds=2) <= message.at <= now + timedelta(milliseconds=1)
    assert [m.at for m in sent] == sorted(m.at for m in sent)


def test_batches_follow_the_interval() -> None:
    clock = FakeClock()
    recorder = Recorder(clock)
    traffic = DoorTraffic(start=MIDNIGHT, devices=20, rate=50, seed=4, flat=True)
    asyncio.run(run(traffic, recorder, duration=60, clock=clock, sleep=clock.sleep, interval=0.5))
    assert 115 <= len(recorder.batches) <= 122  # one batch per half second
    for at, batch in recorder.batches:
        now = traffic.start + timedelta(seconds=at)
        assert all(now - timedelta(seconds=0.51) <= m.at <= now for m in batch)


def test_doors_follow_the_daily_rhythm() -> None:
    traffic = DoorTraffic(start=MIDNIGHT, devices=20, rate=1, seed=8)
    counts = {}
    for hour in range(24):
        end = MIDNIGHT + timedelta(hours=hour + 1)
        counts[hour] = len(traffic.until(end))
        expected = traffic.expected_messages(end - timedelta(hours=1), end)
        assert counts[hour] == pytest.approx(expected, rel=0.06), hour
    assert sum(counts.values()) == pytest.approx(86400, rel=0.02)
    # Mornings and evenings are busy, nights quiet.
    assert counts[7] > 2.5 * counts[3]
    assert counts[18] > 2.5 * counts[3]
    assert sum(daily_profile(h + m / 60) for h in range(24) for m in range(60)) == pytest.approx(
        1440, rel=1e-6
    )


# --- transports -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_http_run_stores_the_events(live_server: Any) -> None:
    _, key = create_ingest_key(None, "simulator", "generic")
    clock = FakeClock()
    start = datetime.now(UTC) - timedelta(minutes=10)
    traffic = DoorTraffic(start=start, devices=12, rate=4, seed=9, formats=["generic"], flat=True)
    transport = HttpTransport(live_server.url, key, batch=200)
    stats = asyncio.run(
        run(traffic, transport, duration=300, clock=clock, sleep=clock.sleep, interval=20)
    )
    assert stats.failed == 0
    assert stats.total > 1000
    assert DeviceEvent.objects.count() == stats.total
    assert transport.requests >= 15  # one request per batch: every 20 s, split at 200
    for simulated in traffic.devices:
        device = Device.objects.get(adapter="generic", key=simulated.key)
        assert device.door == simulated.door
        assert device.battery_percent == simulated.battery_percent
        assert device.tamper == simulated.tamper


@pytest.mark.django_db(transaction=True)
def test_simulate_command_over_http(live_server: Any) -> None:
    _, key = create_ingest_key(None, "simulator", "generic")
    call_command(
        "simulate",
        "--http",
        live_server.url,
        "--key",
        key,
        "--devices",
        "5",
        "--rate",
        "40",
        "--flat",
        "--duration",
        "1",
        "--seed",
        "1",
        "--prefix",
        "cmd",
    )
    assert DeviceEvent.objects.filter(device__key__startswith="cmd-").count() > 10


@pytest.mark.django_db(transaction=True)
def test_simulate_command_refuses_what_cannot_work(live_server: Any) -> None:
    with pytest.raises(CommandError, match="only the generic format"):
        call_command("simulate", "--http", live_server.url, "--formats", "zigbee2mqtt")
    with pytest.raises(CommandError, match="401"):
        call_command(
            "simulate", "--http", live_server.url, "--key", "sw_wrong", "--flat", "--rate", "50"
        )
    with pytest.raises(CommandError, match="unknown format"):
        call_command("simulate", "--mqtt", "mqtt://127.0.0.1:1", "--formats", "lorawan")
    assert DeviceEvent.objects.count() == 0


def _broker_listening(port: int = 1883) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _broker_listening(), reason="no MQTT broker on 127.0.0.1:1883")
def test_mqtt_run_publishes_what_the_adapters_decode() -> None:
    import aiomqtt

    prefix = f"simtest{uuid.uuid4().hex[:6]}"
    traffic = DoorTraffic(
        start=datetime.now(UTC), devices=8, rate=60, seed=1, prefix=prefix, flat=True
    )
    keys = {d.key for d in traffic.devices}
    received: list[aiomqtt.Message] = []

    async def scenario() -> Any:
        async with aiomqtt.Client("127.0.0.1", 1883) as listener:
            for topic in ("zigbee2mqtt/#", f"application/{traffic.application_id}/#"):
                await listener.subscribe(topic, qos=1)
            await listener.subscribe("shouwang/generic/#", qos=1)

            async def collect() -> None:
                async for message in listener.messages:
                    received.append(message)

            collector = asyncio.create_task(collect())
            stats = await run(traffic, MqttTransport("mqtt://127.0.0.1:1883"), duration=1.0)
            await asyncio.sleep(0.3)
            collector.cancel()
            # Leave no retained availability of this test behind on the broker.
            for key in keys:
                if key.startswith(prefix):
                    await listener.publish(
                        f"zigbee2mqtt/{key}/availability", b"", qos=1, retain=True
                    )
            return stats

    stats = asyncio.run(scenario())
    ours = []
    for message in received:
        topic = str(message.topic)
        adapter = topic.split("/")[0]
        adapter = {"application": "chirpstack", "shouwang": "generic"}.get(adapter, adapter)
        if not isinstance(message.payload, bytes) or not message.payload:
            continue
        readings = ADAPTERS[adapter].decode_mqtt(topic, message.payload)  # type: ignore[attr-defined]
        ours += [r for r in readings if r.device_key in keys]
    assert stats.total + stats.startup > 20
    assert len(ours) == stats.total + stats.startup
    assert {r.adapter for r in ours} == {"zigbee2mqtt", "chirpstack", "generic"}
