"""The MQTT bridge against the real Mosquitto: stored once, acknowledged after commit, nothing lost.

Every test uses its own topic prefix and client ids (uuid), so queued or retained messages of one
test never reach another, and forgets its broker sessions at the end. The bridge's worker thread
and the test share the database, hence `transactional_db`; the test reads it through one thread
of its own, because Django refuses ORM calls from inside the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DataError, OperationalError, connections
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shouwang.config import MqttConfig
from shouwang.devices.adapters.zigbee2mqtt import Zigbee2MqttAdapter
from shouwang.devices.models import DeadLetter, Device, DeviceEvent
from shouwang.devices.mqtt_bridge import (
    Bridge,
    BridgeSettings,
    Received,
    backoff,
    parse_topics,
    parse_url,
)
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest
from tests.devices.test_adapters_chirpstack import DOCS_UP

BROKER = ("127.0.0.1", 1883)
# Generous for a loaded CI machine; a passing test takes a fraction of it.
TIMEOUT = 10.0

T = TypeVar("T")


# --- configuration (no broker needed) ----------------------------------------------------------


def test_url_with_credentials_and_tls() -> None:
    settings = parse_url("mqtts://ingest:p%40ss@broker.example")
    assert (settings.host, settings.port, settings.tls) == ("broker.example", 8883, True)
    assert (settings.username, settings.password) == ("ingest", "p@ss")
    assert "p@ss" not in settings.describe()
    assert "p@ss" not in repr(settings)
    assert parse_url("mqtt://127.0.0.1:1884").port == 1884
    assert parse_url("mqtt://127.0.0.1").port == 1883


@pytest.mark.parametrize("url", ["http://broker", "mqtt://", "mqtt://broker:port"])
def test_bad_url_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SHOUWANG_MQTT_URL"):
        parse_url(url)


def test_topics_and_share_group_from_the_environment() -> None:
    environ = {"SHOUWANG_MQTT_URL": "mqtt://127.0.0.1", "SHOUWANG_MQTT_SHARE_GROUP": "ingest"}
    settings = BridgeSettings.from_env(MqttConfig.from_env(environ))
    assert settings.subscriptions() == [
        "$share/ingest/zigbee2mqtt/#",
        "$share/ingest/application/+/device/+/event/+",
        "$share/ingest/shouwang/generic/#",
    ]
    assert (settings.client_id, settings.batch_max) == ("shouwang-ingest", 500)
    assert settings.area_id is None
    with_area = MqttConfig.from_env({**environ, "SHOUWANG_MQTT_AREA": "7"})
    assert BridgeSettings.from_env(with_area).area_id == 7
    with pytest.raises(ImproperlyConfigured, match="MQTT_AREA"):
        BridgeSettings.from_env(MqttConfig.from_env({**environ, "SHOUWANG_MQTT_AREA": "东街道"}))
    with pytest.raises(ImproperlyConfigured, match="BATCH_MAX"):
        BridgeSettings.from_env(MqttConfig.from_env({**environ, "SHOUWANG_MQTT_BATCH_MAX": "0"}))


@pytest.mark.parametrize(
    ("topics", "words"),
    [
        ("generic", "adapter=filter"),
        ("nosuch=a/#", "unknown adapter"),
        ("ctwing=a/#", "HTTP"),
        ("generic=a/#/b", "not a valid"),
        ("generic=a/b+", "not a valid"),
        ("generic=$share/g/a/#", "SHARE_GROUP"),
        (" , ", "no topics"),
    ],
)
def test_bad_topics_are_refused_with_a_reason(topics: str, words: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=words):
        parse_topics(topics)


def test_zigbee2mqtt_base_topic_follows_the_filter() -> None:
    routes = parse_topics("zigbee2mqtt=home/z2m/#,zigbee2mqtt=zigbee2mqtt/#")
    custom, default = (route.adapter for route in routes)
    assert isinstance(custom, Zigbee2MqttAdapter)
    assert custom.base_topic == "home/z2m"
    assert custom.decode_mqtt("home/z2m/front", b'{"contact":false}')[0].door == "open"
    assert isinstance(default, Zigbee2MqttAdapter)
    assert default.base_topic == "zigbee2mqtt"


def test_each_mqtt_adapter_names_the_device_of_a_topic() -> None:
    # Whatever the payload: a dead letter is attributed by it (the device's area).
    from shouwang.devices.adapters import ADAPTERS

    z2m = Zigbee2MqttAdapter()
    assert z2m.topic_device("zigbee2mqtt/room/door") == "room/door"
    assert z2m.topic_device("zigbee2mqtt/room/door/availability") == "room/door"
    assert z2m.topic_device("zigbee2mqtt/bridge/state") is None
    assert z2m.topic_device("elsewhere/door") is None
    generic: Any = ADAPTERS["generic"]
    assert generic.topic_device("shouwang/generic/gw1/door") == "gw1/door"
    assert generic.topic_device("shouwang/generic/") is None
    chirpstack: Any = ADAPTERS["chirpstack"]
    up = "application/7/device/0011AABBCCDDEEFF/event/up"
    assert chirpstack.topic_device(up) == "0011aabbccddeeff"
    assert chirpstack.topic_device("application/7/device/nope/event/up") is None


def test_backoff_grows_is_capped_and_jittered() -> None:
    assert 0.25 <= backoff(0, 0.5, 30) <= 0.5
    assert 2 <= backoff(3, 0.5, 30) <= 4
    assert 15 <= backoff(50, 0.5, 30) <= 30


# --- against Mosquitto -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker() -> None:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError as exc:
        reason = f"Mosquitto is not reachable on {BROKER[0]}:{BROKER[1]} ({exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run these tests")
        pytest.skip(reason)


class Orm:
    """The test's own database thread (Django refuses ORM calls on the event loop's thread)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-orm")

    async def __call__(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def close(self) -> None:
        self._executor.submit(connections.close_all).result()
        self._executor.shutdown()


@dataclass
class Scenario:
    orm: Orm
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_ids: set[str] = field(default_factory=set)

    def settings(self, topics: str, client_id: str = "", **changes: Any) -> BridgeSettings:
        client_id = client_id or f"test-{uuid.uuid4().hex}"
        self.client_ids.add(client_id)
        return replace(
            parse_url(f"mqtt://{BROKER[0]}:{BROKER[1]}"),
            routes=parse_topics(topics),
            client_id=client_id,
            # The broker forgets a test session a minute after its bridge left, even if the
            # test did not get to forget it itself.
            session_expiry=60,
            reconnect_initial=0.05,
            reconnect_max=0.5,
            retry_initial=0.05,
            retry_max=0.2,
            **changes,
        )

    def generic(self, client_id: str = "", **changes: Any) -> BridgeSettings:
        return self.settings(f"generic=shouwang/generic/{self.prefix}/#", client_id, **changes)

    def topic(self, device: str) -> str:
        return f"shouwang/generic/{self.prefix}/{device}"

    async def wait_until(self, check: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not await self.orm(partial(_unless_locked, check)):
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def events(self) -> int:
        return await self.orm(
            lambda: DeviceEvent.objects.filter(device__key__startswith=self.prefix).count()
        )

    async def forget_sessions(self) -> None:
        for client_id in self.client_ids:
            await _forget(client_id)


async def _forget(client_id: str) -> None:
    """End a test's broker session now rather than when it expires."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    async with aiomqtt.Client(
        *BROKER,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=True,
        properties=properties,
    ):
        pass


def _unless_locked(check: Callable[[], bool]) -> bool:
    # The in-memory SQLite test database is shared between threads through SQLite's shared
    # cache, whose table locks fail at once ("database table is locked") instead of waiting
    # while the bridge's worker writes: then the answer is "not yet".
    try:
        return check()
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


@pytest.fixture
def scenario(
    broker: None, django_db_serialized_rollback: None, transactional_db: None
) -> Iterator[Scenario]:
    orm = Orm()
    made = Scenario(orm)
    yield made
    asyncio.run(made.forget_sessions())
    orm.close()


async def publish(messages: Sequence[tuple[str, Any]]) -> None:
    async with aiomqtt.Client(*BROKER, protocol=aiomqtt.ProtocolVersion.V5) as client:
        for topic, payload in messages:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(topic, data, qos=1)


@contextlib.asynccontextmanager
async def running(bridge: Bridge) -> AsyncIterator[asyncio.Task[None]]:
    """The bridge subscribed and consuming; stopped gracefully (stop(), then awaited) after."""
    task = asyncio.create_task(bridge.run())
    try:
        ready = asyncio.ensure_future(bridge.ready.wait())
        await asyncio.wait({ready, task}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert bridge.ready.is_set(), "the bridge did not subscribe in time"
        yield task
    finally:
        bridge.stop()
        if not task.done():
            await asyncio.wait_for(task, TIMEOUT)


async def crash(task: asyncio.Task[None]) -> None:
    """Stop the bridge the hard way: no batch is finished, nothing more is acknowledged."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def assert_everything_was_acknowledged(scenario: Scenario, settings: BridgeSettings) -> None:
    """A new bridge in the same session gets nothing but a fresh message.

    The broker sends unacknowledged messages again first on reconnect, so had anything been left
    unacknowledged it would arrive before (or with) the sentinel.
    """
    await publish([(scenario.topic("sentinel"), {"door": "closed", "id": uuid.uuid4().hex})])
    again = Bridge(settings)
    async with running(again):
        await scenario.wait_until(
            lambda: DeviceEvent.objects.filter(device__key=f"{scenario.prefix}/sentinel").exists(),
            "the sentinel message",
        )
    assert again.stats.messages == 1


def chirpstack_up(dev_eui: str, profile: str, f_port: int, hex_payload: str) -> dict[str, Any]:
    """A ChirpStack v4 uplink event (the docs' example) carrying a real sensor frame."""
    message = copy.deepcopy(DOCS_UP)
    message["deduplicationId"] = str(uuid.uuid4())
    message["deviceInfo"] |= {"devEui": dev_eui, "deviceProfileName": profile}
    message["fPort"] = f_port
    message["data"] = base64.b64encode(bytes.fromhex(hex_payload)).decode()
    return message


def test_messages_of_every_adapter_become_events(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    p = scenario.prefix
    application = str(uuid.uuid4())
    ws301, lds02 = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    settings = scenario.settings(
        f"zigbee2mqtt=zigbee2mqtt/{p}/#,"
        f"chirpstack=application/{application}/device/+/event/+,"
        f"generic=shouwang/generic/{p}/#"
    )
    keys = {
        "zigbee2mqtt": f"{p}/front",
        "ws301": ws301,
        "lds02": lds02,
        "generic": f"{p}/back",
    }

    def stored() -> bool:
        return DeviceEvent.objects.filter(device__key__in=keys.values()).count() == 4

    async def main() -> None:
        bridge = Bridge(settings)
        async with running(bridge):
            await publish(
                [
                    (f"zigbee2mqtt/{p}/front", {"contact": False, "battery": 90}),
                    # Milesight's README frame: battery 100 %, door open, uninstalled.
                    (
                        f"application/{application}/device/{ws301}/event/up",
                        chirpstack_up(ws301, "WS301 EU868", 85, "017564030001040001"),
                    ),
                    # Dragino LDS02, door closed.
                    (
                        f"application/{application}/device/{lds02}/event/up",
                        chirpstack_up(lds02, "Dragino LDS02", 10, "0b88010000250000 0100"),
                    ),
                    (f"shouwang/generic/{p}/back", {"door": "open", "id": "g-1"}),
                ]
            )
            await scenario.wait_until(stored, "four events")
        assert bridge.stats.stored == 4
        await assert_everything_was_acknowledged(scenario, scenario.generic(settings.client_id))

    with caplog.at_level("INFO", logger="shouwang.devices.mqtt_bridge"):
        asyncio.run(main())
    # Said once per bridge at start-up (two bridges ran).
    assert [r.getMessage() for r in caplog.records if "fast path" in r.getMessage()] == [
        "MQTT bridge: fast path on (own PUBLISH parser, batched PUBACKs)"
    ] * 2
    doors = {d.key: (d.adapter, d.door) for d in Device.objects.filter(key__in=keys.values())}
    assert doors == {
        keys["zigbee2mqtt"]: ("zigbee2mqtt", "open"),
        ws301: ("chirpstack", "open"),
        lds02: ("chirpstack", "closed"),
        keys["generic"]: ("generic", "open"),
    }
    assert Device.objects.get(key=ws301).tamper is True
    assert set(
        DeviceEvent.objects.filter(device__key__in=keys.values()).values_list(
            "transport", flat=True
        )
    ) == {"mqtt"}


def test_crash_between_commit_and_ack_and_messages_sent_while_down(scenario: Scenario) -> None:
    total, before_crash = 300, 150
    ids = [f"{scenario.prefix}-{n}" for n in range(total)]
    messages = [(scenario.topic(f"d{n % 3}"), {"door": "open", "id": ids[n]}) for n in range(total)]
    settings = scenario.generic()
    crashed_batch: list[int] = []
    at_crash = asyncio.Event()

    async def crash_on_second_batch(batch: Sequence[Received], _: IngestResult) -> None:
        if first.stats.batches == 1 and not crashed_batch:
            crashed_batch.append(len(batch))
            at_crash.set()
            # Committed, not acknowledged: wait here until the process "dies".
            await asyncio.Event().wait()

    first = Bridge(settings, after_commit=crash_on_second_batch)

    async def publish_until_the_crash() -> int:
        """Publish while the bridge runs; past `before_crash` only if it has not crashed yet."""
        sent = 0
        async with aiomqtt.Client(*BROKER, protocol=aiomqtt.ProtocolVersion.V5) as client:
            while sent < total and (sent < before_crash or not at_crash.is_set()):
                topic, payload = messages[sent]
                await client.publish(topic, json.dumps(payload), qos=1)
                sent += 1
        return sent

    async def main() -> None:
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(first.ready.wait(), TIMEOUT)
        publisher = asyncio.create_task(publish_until_the_crash())
        await asyncio.wait_for(at_crash.wait(), TIMEOUT)
        await crash(task)
        sent = await publisher
        assert sent < total, "the bridge crashed after the last message: nothing sent while down"
        # The bridge is down: these wait at the broker, in its session.
        await publish(messages[sent:])
        second = Bridge(settings)
        async with running(second):
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key__in=ids).count() == total,
                f"{total} events",
            )
        # The batch committed before the crash came again and was recognised.
        assert second.stats.duplicates == crashed_batch[0]
        assert first.stats.stored + crashed_batch[0] + second.stats.stored == total

    asyncio.run(main())
    stored = DeviceEvent.objects.filter(dedup_key__in=ids).values_list("dedup_key", flat=True)
    assert sorted(str(key) for key in stored) == sorted(ids), "every message stored exactly once"


def test_undecodable_messages_become_dead_letters_and_the_stream_goes_on(
    scenario: Scenario,
) -> None:
    settings = scenario.generic()

    async def main() -> None:
        bridge = Bridge(settings)
        async with running(bridge):
            await publish(
                [
                    (scenario.topic("a"), b"{not json"),
                    (scenario.topic("a"), {"door": "ajar"}),
                    (scenario.topic("a"), {"door": "open", "id": "after"}),
                ]
            )
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(device__key=f"{scenario.prefix}/a").exists(),
                "the good message",
            )
        assert bridge.stats.dead_letters == 2
        await assert_everything_was_acknowledged(scenario, settings)

    asyncio.run(main())
    letters = DeadLetter.objects.filter(topic=scenario.topic("a")).order_by("id")
    assert [(d.adapter, d.transport, d.payload) for d in letters] == [
        ("generic", "mqtt", "{not json"),
        ("generic", "mqtt", '{"door": "ajar"}'),
    ]
    assert "json" in letters[0].reason.lower()
    assert "door" in letters[1].reason


def test_messages_with_mqtt5_properties_or_qos_0_are_stored_and_acknowledged_in_order(
    scenario: Scenario,
) -> None:
    # The bridge parses a plain PUBLISH itself; one with properties goes through paho's parser.
    settings = scenario.generic()
    ids = [f"{scenario.prefix}-{n}" for n in range(5)]
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.UserProperty = [("source", "test")]
    properties.ContentType = "application/json"

    async def main() -> None:
        bridge = Bridge(settings)
        async with running(bridge):
            async with aiomqtt.Client(*BROKER, protocol=aiomqtt.ProtocolVersion.V5) as client:
                for n, (qos, with_properties) in enumerate(
                    [(1, True), (1, False), (0, False), (1, True), (0, True)]
                ):
                    await client.publish(
                        scenario.topic(f"d{n}"),
                        json.dumps({"door": "open", "id": ids[n]}),
                        qos=qos,
                        properties=properties if with_properties else None,
                    )
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key__in=ids).count() == len(ids),
                f"{len(ids)} events",
            )
        assert (bridge.stats.messages, bridge.stats.dead_letters) == (len(ids), 0)
        await assert_everything_was_acknowledged(scenario, settings)

    asyncio.run(main())


def test_topic_left_from_an_earlier_configuration_becomes_a_dead_letter(
    scenario: Scenario,
) -> None:
    p = scenario.prefix
    both = scenario.settings(f"generic=shouwang/generic/{p}/#,zigbee2mqtt=zigbee2mqtt/{p}/#")
    generic_only = scenario.generic(both.client_id)

    async def main() -> None:
        async with running(Bridge(both)):
            pass
        # The persistent session still holds the zigbee2mqtt subscription.
        bridge = Bridge(generic_only)
        async with running(bridge):
            await publish([(f"zigbee2mqtt/{p}/front", {"contact": True})])
            await scenario.wait_until(
                lambda: DeadLetter.objects.filter(topic=f"zigbee2mqtt/{p}/front").exists(),
                "the dead letter",
            )

    asyncio.run(main())
    letter = DeadLetter.objects.get(topic=f"zigbee2mqtt/{p}/front")
    assert (letter.adapter, letter.transport) == ("unrouted", "mqtt")
    assert "SHOUWANG_MQTT_TOPICS" in letter.reason


def test_two_bridges_in_one_share_group_split_the_stream(scenario: Scenario) -> None:
    total = 200
    ids = [f"{scenario.prefix}-{n}" for n in range(total)]
    group = f"g{uuid.uuid4().hex[:12]}"
    a = Bridge(scenario.generic(share_group=group))
    b = Bridge(scenario.generic(share_group=group))

    async def main() -> None:
        async with running(a), running(b):
            await publish(
                [
                    (scenario.topic(f"d{n % 5}"), {"door": "open", "id": ids[n]})
                    for n in range(total)
                ]
            )
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key__in=ids).count() == total,
                f"{total} events",
            )

    asyncio.run(main())
    assert a.stats.messages > 0
    assert b.stats.messages > 0
    assert a.stats.messages + b.stats.messages == total
    assert a.stats.duplicates + b.stats.duplicates == 0
    assert DeviceEvent.objects.filter(dedup_key__in=ids).count() == total


class CuttableRelay:
    """A TCP relay to Mosquitto that a test can cut and restore: a broker outage for one bridge
    without stopping the broker everybody shares."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._relays: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        # Let the relaying tasks see their connections end (asyncio.run would cancel them).
        await asyncio.wait(self._relays, timeout=TIMEOUT)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)
        upstream_reader, upstream_writer = await asyncio.open_connection(*BROKER)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


def test_broker_outage_is_survived_and_loses_nothing(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    relay = CuttableRelay()

    async def until(condition: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not condition():
            assert loop.time() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.01)

    def stored(key: str) -> Callable[[], bool]:
        return lambda: DeviceEvent.objects.filter(dedup_key=key).exists()

    async def main() -> None:
        await relay.start()
        # A backoff far longer than the test waits: the bridge must come back when the broker
        # does, not when its backoff ends.
        settings = replace(
            scenario.generic(port=relay.port), reconnect_initial=60.0, reconnect_max=120.0
        )
        bridge = Bridge(settings)
        async with running(bridge):
            await publish([(scenario.topic("a"), {"door": "open", "id": "before"})])
            await scenario.wait_until(stored("before"), "the message before the outage")
            await relay.cut()
            await until(lambda: not bridge.ready.is_set(), "the bridge to notice the outage")
            # Published while the bridge cannot reach the broker: kept in its session.
            await publish([(scenario.topic("a"), {"door": "closed", "id": "during"})])
            await until(
                lambda: any("reconnect attempt 1 " in r.getMessage() for r in caplog.records),
                "a failed reconnect",
            )
            await relay.start()
            await asyncio.wait_for(bridge.ready.wait(), TIMEOUT)
            await scenario.wait_until(stored("during"), "the message sent during the outage")
        await relay.cut()
        assert bridge.stats.connects == 2

    with caplog.at_level("WARNING", logger="shouwang.devices.mqtt_bridge"):
        asyncio.run(main())
    assert Device.objects.get(key=f"{scenario.prefix}/a").door == "closed"


def test_database_failure_leaves_messages_unacknowledged(scenario: Scenario) -> None:
    settings = scenario.generic()

    def database_down(items: Sequence[Incoming], transport: str, area: Any) -> IngestResult:
        raise OperationalError("connection refused")

    async def main() -> None:
        failing = Bridge(settings, ingest_function=database_down)
        async with running(failing):
            await publish([(scenario.topic("a"), {"door": "open", "id": "kept"})])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + TIMEOUT
            while failing.stats.failed_commits < 3:
                assert loop.time() < deadline, "the bridge did not retry"
                await asyncio.sleep(0.01)
        # Stopped gracefully while the database was down: nothing was acknowledged.
        assert failing.stats.messages == 0
        async with running(Bridge(settings)):
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key="kept").exists(), "the message"
            )

    asyncio.run(main())
    assert DeadLetter.objects.filter(topic__startswith=scenario.topic("")).count() == 0


def test_a_message_the_database_refuses_does_not_block_the_others(scenario: Scenario) -> None:
    def refuses_poison(items: Sequence[Incoming], transport: str, area: Any) -> IngestResult:
        if any(item.reading.device_key.endswith("/poison") for item in items):
            raise DataError("value too long for type character varying(200)")
        return ingest(items, transport, area)

    settings = scenario.generic()

    async def main() -> None:
        bridge = Bridge(settings, ingest_function=refuses_poison)
        async with running(bridge):
            await publish(
                [
                    (scenario.topic("ok"), {"door": "open", "id": "one"}),
                    (scenario.topic("poison"), {"door": "open", "id": "bad"}),
                    (scenario.topic("ok"), {"door": "closed", "id": "two"}),
                ]
            )
            await scenario.wait_until(
                lambda: (
                    DeadLetter.objects.filter(topic=scenario.topic("poison")).exists()
                    and DeviceEvent.objects.filter(dedup_key__in=["one", "two"]).count() == 2
                ),
                "the good messages and the dead letter",
            )
        await assert_everything_was_acknowledged(scenario, settings)

    asyncio.run(main())
    letter = DeadLetter.objects.get(topic=scenario.topic("poison"))
    assert "could not be stored" in letter.reason
    assert "DataError" in letter.reason


def test_dead_letters_belong_to_their_devices_area_or_the_bridges(scenario: Scenario) -> None:
    """A town operator sees the dead letters of their own town only: a known device's by its
    area, an unknown device's by the bridge's SHOUWANG_MQTT_AREA; platform admins see those
    with neither. A redelivery is recorded once."""
    from shouwang.core.models import AreaKind, Role
    from shouwang.core.services.areas import create_area
    from shouwang.core.services.staff import create_staff
    from tests.conftest import PASSWORD, login

    district = create_area(None, None, "示范区", AreaKind.DISTRICT)
    east_town = create_area(None, district, "东街道", AreaKind.STREET)
    west_town = create_area(None, district, "西街道", AreaKind.STREET)
    east_home = create_area(None, east_town, "东社区", AreaKind.COMMUNITY)
    east_op = create_staff(None, "east-op", PASSWORD, Role.TOWN_OPERATOR, [east_town])
    west_op = create_staff(None, "west-op", PASSWORD, Role.TOWN_OPERATOR, [west_town])
    admin = create_staff(None, "admin", PASSWORD, Role.PLATFORM_ADMIN, [])
    p = scenario.prefix
    Device.objects.create(adapter="generic", key=f"{p}/east", area=east_home)
    Device.objects.create(adapter="generic", key=f"{p}/west", area=west_town)
    Device.objects.create(adapter="generic", key=f"{p}/nowhere")  # not placed yet

    async def main() -> None:
        # One bridge for the west town's broker; one with no area.
        west_bridge = scenario.generic(area_id=west_town.pk)
        async with running(Bridge(west_bridge)):
            await publish(
                [
                    (scenario.topic("east"), b"{east"),  # a known device: its own area
                    (scenario.topic("west"), b"{west"),
                    (scenario.topic("stranger"), b"{stranger"),  # unknown: the bridge's area
                    (scenario.topic("nowhere"), b"{nowhere"),  # known, no area: the bridge's
                    (scenario.topic("fresh"), {"door": "open", "id": "sentinel"}),
                ]
            )
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key="sentinel").exists(), "sentinel"
            )
        async with running(Bridge(scenario.generic())):
            await publish([(scenario.topic("stranger2"), b"{lost")])
            await scenario.wait_until(
                lambda: DeadLetter.objects.filter(topic=scenario.topic("stranger2")).exists(),
                "the unattributed dead letter",
            )

    asyncio.run(main())
    letters = {d.topic.rsplit("/", 1)[1]: d for d in DeadLetter.objects.all()}
    assert {name: d.area for name, d in letters.items()} == {
        "east": east_home,
        "west": west_town,
        "stranger": west_town,
        "nowhere": west_town,
        "stranger2": None,
    }
    # A device first heard through the west bridge waits in the west town for claiming.
    assert Device.objects.get(key=f"{p}/fresh").area == west_town

    def shown(user: Any) -> set[str]:
        page = login(user).get("/devices/dead-letters/").content.decode()
        return {name for name in letters if f"{p}/{name}<" in page}

    def opens(user: Any, name: str) -> int:
        return int(login(user).get(f"/devices/dead-letters/{letters[name].pk}/").status_code)

    assert shown(east_op) == {"east"}
    assert shown(west_op) == {"west", "stranger", "nowhere"}
    assert shown(admin) == set(letters)
    assert opens(west_op, "east") == 404
    assert opens(east_op, "stranger2") == 404
    assert opens(admin, "stranger2") == 200


def test_a_dead_letter_redelivered_by_the_broker_is_recorded_once(scenario: Scenario) -> None:
    settings = scenario.generic(area_id=None)
    failed = False

    async def fail_before_the_ack(batch: Sequence[Received], _result: IngestResult) -> None:
        # Committed, not acknowledged: the bridge reconnects and the broker sends it again.
        nonlocal failed
        if not failed:
            failed = True
            raise RuntimeError("crash between commit and PUBACK")

    async def main() -> None:
        bridge = Bridge(settings, after_commit=fail_before_the_ack)
        async with running(bridge):
            await publish([(scenario.topic("a"), b"{broken")])
            await scenario.wait_until(lambda: bridge.stats.connects >= 2, "the reconnect")
            await publish([(scenario.topic("a"), {"door": "open", "id": "after"})])
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key="after").exists(), "the next one"
            )
        assert bridge.stats.dead_letters == 1  # counted when acknowledged, on the redelivery

    asyncio.run(main())
    letter = DeadLetter.objects.get(topic=scenario.topic("a"))
    assert letter.repeats == 0


# --- the commands, as processes ----------------------------------------------------------------


class Running:
    """A `shouwang` subprocess whose output is read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shouwang", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str) -> None:
        if any(text in line for line in self.output):
            return
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"{text!r} did not appear; output:\n{''.join(self.output)}")
            self.output.append(line)
            if text in line:
                return

    def terminate(self) -> int:
        """SIGTERM, then the exit status once the process has finished on its own."""
        self.process.terminate()
        status = self.process.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        while (line := self._lines.get_nowait() if not self._lines.empty() else None) is not None:
            self.output.append(line)
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def shouwang(*args: str, env: dict[str, str]) -> Iterator[Running]:
    running = Running(list(args), env)
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded installation (SQLite file under var/), migrated once for these tests."""
    path = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "-m", "shouwang", "migrate", "-v0"],
        env=_process_env(path, ""),
        check=True,
        capture_output=True,
    )
    return path


def _process_env(var: Path, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    return env | {
        "SHOUWANG_VAR_DIR": str(var),
        "SHOUWANG_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "SHOUWANG_MQTT_TOPICS": f"generic=shouwang/generic/{prefix}/#",
        "SHOUWANG_MQTT_CLIENT_ID": f"test-{prefix}",
        "SHOUWANG_MQTT_SESSION_EXPIRY": "60",
    }


def _wait_for_event(var: Path, dedup_key: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    with contextlib.closing(sqlite3.connect(var / "shouwang.sqlite3", timeout=TIMEOUT)) as db:
        while not db.execute(
            "SELECT count(*) FROM devices_deviceevent WHERE dedup_key = ?", (dedup_key,)
        ).fetchone()[0]:
            assert time.monotonic() < deadline, f"no event {dedup_key!r} in {var}"
            time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_web_and_bridge_in_one_process(broker: None, var_dir: Path) -> None:
    prefix = uuid.uuid4().hex
    port = _free_port()
    with shouwang(
        "serve", "--no-migrate", "--port", str(port), env=_process_env(var_dir, prefix)
    ) as p:
        p.wait_for("MQTT bridge connected")
        p.wait_for("Uvicorn running")
        asyncio.run(publish([(f"shouwang/generic/{prefix}/door", {"door": "open", "id": prefix})]))
        _wait_for_event(var_dir, prefix)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=TIMEOUT) as page:
            assert page.status == 200
        assert p.terminate() == 0
    assert "MQTT bridge stopped" in "".join(p.output)
    asyncio.run(_forget(f"test-{prefix}"))


@pytest.mark.slow
def test_serve_web_only_never_starts_the_bridge(var_dir: Path) -> None:
    # A broker URL that the bridge would refuse at once: serving proves it was never read.
    env = _process_env(var_dir, uuid.uuid4().hex) | {"SHOUWANG_MQTT_URL": "bogus://nowhere"}
    with shouwang("serve", "--no-migrate", "--web-only", "--port", str(_free_port()), env=env) as p:
        p.wait_for("Uvicorn running")
        # uvicorn.run() re-raises SIGTERM once it has shut down gracefully.
        assert p.terminate() in (0, -signal.SIGTERM)
    assert "MQTT" not in "".join(p.output)


@pytest.mark.slow
def test_ingest_command_runs_until_sigterm(broker: None, var_dir: Path) -> None:
    prefix = uuid.uuid4().hex
    with shouwang("ingest", env=_process_env(var_dir, prefix)) as p:
        p.wait_for("MQTT bridge connected")
        asyncio.run(publish([(f"shouwang/generic/{prefix}/door", {"door": "open", "id": prefix})]))
        _wait_for_event(var_dir, prefix)
        assert p.terminate() == 0
    assert "MQTT bridge stopped" in "".join(p.output)
    asyncio.run(_forget(f"test-{prefix}"))


def test_ingest_command_needs_a_broker_url(settings: Any) -> None:
    settings.MQTT = MqttConfig()
    with pytest.raises(CommandError, match="SHOUWANG_MQTT_URL"):
        call_command("ingest")


# --- a broker that lost our session; a database that went away ---------------------------------


@pytest.fixture
def status_dir(tmp_path: Path, settings: Any) -> Path:
    """The bridges' status files go here (VAR_DIR/ingest/)."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "ingest"


def test_a_lost_broker_session_is_logged_and_alerted_to_platform_admins(
    scenario: Scenario, status_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from shouwang.alerts.models import Alert
    from shouwang.devices.alert_kinds import INGEST_SESSION_LOST

    settings = scenario.generic()

    async def main() -> None:
        async with running(Bridge(settings)):
            pass
        # The broker kept the session: a restart finds it, nobody is alarmed.
        async with running(Bridge(settings)):
            pass
        # The broker loses it (a crash with persistence off or not yet saved).
        await _forget(settings.client_id)
        async with running(Bridge(settings)):
            pass

    with caplog.at_level("ERROR", logger="shouwang.devices.mqtt_bridge"):
        asyncio.run(main())
    lost = [r.getMessage() for r in caplog.records if "session lost" in r.getMessage()]
    assert len(lost) == 1
    assert settings.client_id in lost[0]
    alert = Alert.objects.get(kind=INGEST_SESSION_LOST)
    assert alert.area is None  # platform-wide roles only
    assert settings.client_id in alert.title
    state = json.loads((status_dir / f"{settings.client_id}.json").read_text())
    assert state["session_lost_at"] > 0
    assert state["state"] == "stopped"


def test_a_first_start_expects_no_session(scenario: Scenario, status_dir: Path) -> None:
    from shouwang.alerts.models import Alert

    async def main() -> None:
        async with running(Bridge(scenario.generic())):
            pass

    asyncio.run(main())
    assert not Alert.objects.exists()


def test_while_the_database_is_down_the_bridge_leaves_the_broker_and_comes_back(
    scenario: Scenario, status_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shouwang.devices.mqtt_bridge import bridge as bridge_module

    settings = scenario.generic()
    up = threading.Event()
    probes: list[bool] = []

    def answers() -> bool:
        probes.append(up.is_set())
        return up.is_set()

    def store_or_fail(items: Sequence[Incoming], transport: str, area: Any) -> IngestResult:
        if not up.is_set():
            raise OperationalError("connection refused")
        return ingest(items, transport, area)

    monkeypatch.setattr(bridge_module, "database_answers", answers)

    async def main() -> None:
        bridge = Bridge(settings, ingest_function=store_or_fail)
        async with running(bridge) as task:
            await publish([(scenario.topic("a"), {"door": "open", "id": "first"})])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + TIMEOUT
            while len(probes) < 3:
                assert loop.time() < deadline, "the bridge did not probe the database"
                await asyncio.sleep(0.01)
            # Disconnected, not holding messages: the broker keeps them meanwhile.
            assert not bridge.ready.is_set()
            assert bridge.stats.messages == 0
            status = json.loads((status_dir / f"{settings.client_id}.json").read_text())
            assert status["state"] == "database unreachable"
            await publish([(scenario.topic("a"), {"door": "closed", "id": "second"})])
            up.set()
            await scenario.wait_until(
                lambda: DeviceEvent.objects.filter(dedup_key__in=["first", "second"]).count() == 2,
                "both messages after the database came back",
            )
            assert not task.done()
        assert bridge.stats.connects == 2

    asyncio.run(main())


def test_while_the_database_is_down_it_is_probed_every_0_2_s_and_resumed_within_that(
    monkeypatch: pytest.MonkeyPatch, status_dir: Path
) -> None:
    """The probe schedule on an injected clock (no wall-clock timing): a probe starts at most
    0.2 s after the previous one started (a slow probe is followed at once), so the bridge goes
    back to the broker within 0.2 s of the database answering again. Measured for real, with
    PostgreSQL stopped and started: bench/db_resume.py."""
    from shouwang.devices.mqtt_bridge import bridge as bridge_module

    assert bridge_module.DATABASE_PROBE <= 0.2
    now = 0.0
    back_at = 1.37  # the database answers from here on
    took = iter([0.0, 0.05, 0.35, 0.19, 0.0, 0.01, 0.2, 0.0])  # how long each probe takes
    probes: list[tuple[float, float]] = []

    def answers() -> bool:
        nonlocal now
        start = now
        now += next(took, 0.0)
        probes.append((start, now))
        return start >= back_at

    async def sleep(delay: float) -> bool:
        nonlocal now
        assert delay >= 0
        now += delay
        return False

    settings = replace(parse_url("mqtt://127.0.0.1"), routes=parse_topics("generic=x/#"))
    bridge = Bridge(settings, clock=lambda: now)
    monkeypatch.setattr(bridge_module, "database_answers", answers)
    monkeypatch.setattr(bridge, "_sleep_unless_stopped", sleep)
    with ThreadPoolExecutor(max_workers=1) as executor:
        asyncio.run(bridge._wait_for_database(executor))
    for (start, end), (next_start, _) in itertools.pairwise(probes):
        assert next_start - start <= max(0.2, end - start) + 1e-9
        assert next_start >= end  # one probe at a time
    resumed = probes[-1][1]
    assert back_at <= probes[-1][0] <= back_at + 0.2
    assert resumed - back_at <= 0.2 + 1e-9
    assert len(probes) >= 7


def test_the_health_page_says_when_a_bridge_cannot_reach_its_database(
    town: Any, status_dir: Path
) -> None:
    from shouwang.devices.mqtt_bridge import status as bridge_status
    from tests.conftest import login

    bridge_status.save(
        bridge_status.BridgeStatus(
            "shouwang-ingest", "mqtt://127.0.0.1:1883", "database unreachable", detail="refused"
        )
    )
    bridge_status.save(
        bridge_status.BridgeStatus("second", "mqtt://b:1883", "connected", session_lost_at=1e9)
    )
    page = login(town.town_operator).get("/devices/health/").content.decode()
    rows = re.findall(r'<tr data-testid="bridge">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    down = next(r for r in rows if "shouwang-ingest" in r)
    lost = next(r for r in rows if "second" in r)
    assert "refused" in down
    assert "database unreachable" in down or "数据库" in down
    assert 'data-testid="session-lost"' in lost
    assert 'data-testid="session-lost"' not in down
    assert login(town.east_worker).get("/devices/health/").status_code == 403
