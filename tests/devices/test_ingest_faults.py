"""Faults, for real: a Mosquitto and a PostgreSQL of the test's own (spare ports, temporary
directories: tests/devices/fault_world.py), 10,000 QoS 1 Zigbee2MQTT messages without `last_seen`
(so no message ids, and many with the same bytes) and 2,000 generic ones without "id", the bridge
killed (SIGKILL) between a commit and its PUBACKs, the broker restarted; and PostgreSQL stopped
mid-stream and started again; every message must be stored exactly once.

Skipped only when the binaries are missing (mosquitto; PostgreSQL's initdb and pg_ctl under
/usr/lib/postgresql/*/bin).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.utils import translation

from tests.conftest import Town, login
from tests.devices import fault_world
from tests.devices.fault_world import (
    TIMEOUT,
    BridgeProcess,
    Broker,
    Postgres,
    dead_letters,
    generic_payload,
    payload,
    publish,
    stored,
)
from tests.devices.fault_world import normal as _normal
from tests.devices.fault_world import wait as _wait

pytestmark = pytest.mark.slow

MESSAGES = 10_000
DEVICES = 100
# The database outage: a stream of Zigbee2MQTT messages, two thirds before PostgreSQL stops.
OUTAGE_MESSAGES = 3_000


@pytest.fixture
def world() -> Iterator[tuple[Broker, Postgres, dict[str, str]]]:
    missing = fault_world.missing_binaries()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    with fault_world.world() as made:
        yield made


def test_every_message_stored_exactly_once_through_a_crash_and_a_broker_restart(
    world: tuple[Broker, Postgres, dict[str, str]],
) -> None:
    broker, postgres, env = world
    run = uuid.uuid4().hex[:8]
    env = env | {
        "SHOUWANG_MQTT_TOPICS": (
            f"zigbee2mqtt=zigbee2mqtt/{run}/#,generic=shouwang/generic/{run}/#"
        )
    }
    # Every MQTT adapter whose messages may carry no message id: Zigbee2MQTT (the 10,000) and
    # the generic format without "id" (a further 2,000), interleaved.
    messages: list[tuple[str, bytes]] = []
    expected: Counter[tuple[str, str]] = Counter()
    for n in range(MESSAGES):
        key, data = f"{run}/door{n % DEVICES}", payload(n // DEVICES)
        messages.append((f"zigbee2mqtt/{key}", data))
        expected[(key, _normal(data))] += 1
        if n % 5 == 0:
            key, data = f"{run}/g{n % 20}", generic_payload(n // 20)
            messages.append((f"shouwang/generic/{key}", data))
            expected[(key, _normal(data))] += 1

    # 1. The bridge subscribes, stores three batches and dies after the third one's commit,
    #    before its PUBACKs; the rest of the 10,000 queue at the broker meanwhile.
    first = BridgeProcess(env, kill_after=3)
    first.wait_for("ready")
    publish(broker.port, messages)
    assert first.finish() == -9, "".join(first.output)
    after_crash = sum(stored(postgres.url, f"{run}/").values())
    assert 0 < after_crash < len(messages), (dead_letters(postgres.url), first.output)

    # 2. The broker restarts (its session and queue come back from its persistence file).
    broker.stop()
    broker.start()

    # 3. A new bridge takes the session up: the unacknowledged batch comes again with DUP set.
    second = BridgeProcess(env)
    second.wait_for("ready")
    publish(broker.port, [(f"zigbee2mqtt/{run}/sentinel", payload(0))])
    # The sentinel was published last: once it is stored, everything before it was delivered.
    _wait(lambda: stored(postgres.url, f"{run}/sentinel"), "the sentinel message")
    second.process.terminate()
    assert second.finish() == 0, "".join(second.output)
    stats = json.loads(second.output[-1])

    assert stored(postgres.url, f"{run}/") == expected + Counter(
        {(f"{run}/sentinel", _normal(payload(0))): 1}
    )
    assert sum(stored(postgres.url, f"{run}/").values()) == len(messages) + 1  # sentinel
    # The crash did leave a committed batch unacknowledged, and it did come back.
    assert stats["duplicates"] > 0
    assert "session lost" not in "".join(second.output)


def _health_row(client: Any, client_id: str) -> str:
    """The bridge's row on the ingest health page (devices/health/), as an operator sees it."""
    page = client.get("/devices/health/").content.decode()
    rows = re.findall(r'<tr data-testid="bridge">(.*?)</tr>', page, re.S)
    return next((row for row in rows if client_id in row), "")


def _count_stored(url: str, prefix: str) -> int:
    try:
        return sum(stored(url, prefix).values())
    except psycopg.OperationalError:
        return 0


def test_a_database_outage_mid_stream_loses_and_doubles_nothing(
    world: tuple[Broker, Postgres, dict[str, str]], town: Town, settings: Any
) -> None:
    """PostgreSQL stopped (`-m immediate`) while the bridge stores a stream of Zigbee2MQTT
    messages without `last_seen`, more published while it is down, then started again: the
    health page says the database is down while it is (and that the bridge is not reading from
    the broker), the bridge comes back by itself, and every message is stored exactly once.
    The probe interval is shown on an injected clock in test_mqtt_bridge.py; the real resume
    delay is measured by bench/db_resume.py."""
    broker, postgres, env = world
    run = uuid.uuid4().hex[:8]
    env = env | {"SHOUWANG_MQTT_TOPICS": f"zigbee2mqtt=zigbee2mqtt/{run}/#"}
    settings.VAR_DIR = Path(env["SHOUWANG_VAR_DIR"])  # the health page reads the bridge's file
    client_id = env["SHOUWANG_MQTT_CLIENT_ID"]
    with translation.override(settings.LANGUAGE_CODE):
        down_text = translation.gettext(
            "database unreachable: not reading from the broker, which keeps the messages"
        )
        connected_text = translation.gettext("connected")
    messages: list[tuple[str, bytes]] = []
    expected: Counter[tuple[str, str]] = Counter()
    for n in range(OUTAGE_MESSAGES):
        key, data = f"{run}/door{n % 50}", payload(n // 50)
        messages.append((f"zigbee2mqtt/{key}", data))
        expected[(key, _normal(data))] += 1
    before, during = messages[: OUTAGE_MESSAGES * 2 // 3], messages[OUTAGE_MESSAGES * 2 // 3 :]
    operator = login(town.admin)

    bridge = BridgeProcess(env)
    bridge.wait_for("ready")
    assert connected_text in _health_row(operator, client_id)
    publisher = threading.Thread(target=publish, args=(broker.port, before))
    publisher.start()
    _wait(lambda: _count_stored(postgres.url, f"{run}/") >= 200, "the first batches")
    postgres.stop()  # mid-stream: batches in flight fail, some maybe as they commit
    publish(broker.port, during)  # the broker takes these while the database is down
    publisher.join(TIMEOUT)
    _wait(lambda: down_text in _health_row(operator, client_id), "the page to say so")
    row = _health_row(operator, client_id)
    assert 'class="error"' in row

    postgres.resume()
    _wait(lambda: connected_text in _health_row(operator, client_id), "the bridge to come back")
    publish(broker.port, [(f"zigbee2mqtt/{run}/sentinel", payload(0))])
    _wait(lambda: stored(postgres.url, f"{run}/sentinel"), "the sentinel message")
    bridge.process.terminate()
    assert bridge.finish() == 0, "".join(bridge.output)
    log = "".join(bridge.output)
    assert "database unreachable" in log

    assert stored(postgres.url, f"{run}/") == expected + Counter(
        {(f"{run}/sentinel", _normal(payload(0))): 1}
    )
