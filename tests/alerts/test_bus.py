"""The live bus and the SSE stream built on it.

- In one process, a publish from any thread reaches every subscriber's event loop.
- Across processes, Redis pub/sub and PostgreSQL LISTEN/NOTIFY carry the same message; two
  `Relay`s with different origins stand in for two web processes (each skips what it published
  itself, since it has delivered that locally already).
- The stream (`/alerts/stream`) is driven through Django's AsyncClient, reading the streaming
  body event by event: a worker hears only the alerts of their own areas.

The tests run their async parts with asgiref's async_to_sync: database work inside goes through
sync_to_async, which runs on the test's own thread (and so inside its transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test import AsyncClient

from shouwang.alerts import bus, bus_backends, views
from shouwang.alerts.models import Alert, Severity
from shouwang.alerts.services import alerting
from shouwang.alerts.services.alerting import Trigger
from shouwang.quarantine.models import Watch, WatchKind
from tests.alerts.conftest import T0, Door
from tests.conftest import Town

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT = 10.0


@pytest.fixture(autouse=True)
def _listeners_stop_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A listener outliving its test would keep a connection to the test database open.
    monkeypatch.setattr(bus, "LINGER_SECONDS", 0.0)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(TIMEOUT):
            await scenario()

    async_to_sync(bounded)()


def payload(alert_id: int, area_path: str = "0001", **extra: Any) -> dict[str, Any]:
    return {"type": "alert", "reason": "opened", "id": alert_id, "area_path": area_path, **extra}


# --- In one process ---------------------------------------------------------------------------


def test_publish_from_another_thread_reaches_every_subscriber() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        # The bus is the process's: a browser test's server thread may still be letting a
        # closed console go, so count only this test's own subscribers.
        before = bus.subscriber_count()
        first, second = bus.subscribe(loop), bus.subscribe(loop)
        try:
            thread = threading.Thread(target=bus.publish, args=(payload(7),))
            thread.start()
            assert (await first.get())["id"] == 7
            assert (await second.get())["id"] == 7
            thread.join()
        finally:
            bus.unsubscribe(first)
            bus.unsubscribe(second)
        assert bus.subscriber_count() == before

    run(scenario)


def test_a_console_that_stopped_reading_does_not_block_the_others() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        stuck, reading = bus.subscribe(loop), bus.subscribe(loop)
        try:
            for n in range(1005):
                bus.publish(payload(n))
                if n % 100 == 0:
                    await asyncio.sleep(0)
            got = [(await reading.get())["id"] for _ in range(reading.qsize() or 1)]
            assert got  # the reader is served; the stuck queue stopped at its bound
            assert stuck.qsize() == stuck.maxsize
        finally:
            bus.unsubscribe(stuck)
            bus.unsubscribe(reading)

    run(scenario)


def test_messages_stay_under_the_notify_limit() -> None:
    small = bus_backends.encode("p1", payload(1, title="东风花园 3号楼 2单元501"))
    assert bus_backends.decode(small) == ("p1", payload(1, title="东风花园 3号楼 2单元501"))
    huge = bus_backends.encode("p1", payload(2, title="门" * 5000, note="x" * 5000))
    assert len(huge.encode()) < 8000
    origin, slim = bus_backends.decode(huge)  # type: ignore[misc]
    assert (origin, slim["id"], slim["truncated"]) == ("p1", 2, True)
    assert bus_backends.decode("not json") is None


def test_without_redis_or_postgresql_the_bus_stays_in_process(settings: Any) -> None:
    settings.LIVE_BUS = replace(settings.LIVE_BUS, redis_url="")
    expected = "postgres" if connection.vendor == "postgresql" else None
    backend = bus_backends.configured()
    assert (backend.name if backend else None) == expected
    settings.LIVE_BUS = replace(settings.LIVE_BUS, redis_url=REDIS_URL)
    assert bus_backends.configured().name == "redis"  # type: ignore[union-attr]


# --- Across processes -------------------------------------------------------------------------


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _need(port: int, what: str) -> None:
    if not _reachable(port):
        message = f"{what} is not running on 127.0.0.1:{port}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI starts it (.ci/run)")
        pytest.skip(message)


async def _two_processes(
    backend: bus_backends.Backend, publish: Callable[[str], Awaitable[None]]
) -> None:
    """Two relays ("process A" and "process B") on one broker; a third process publishes."""
    loop = asyncio.get_running_loop()
    heard: dict[str, asyncio.Queue[dict[str, Any]]] = {"a": asyncio.Queue(), "b": asyncio.Queue()}
    relays = {
        name: bus.Relay(backend, loop, origin=f"process-{name}", deliver=heard[name].put_nowait)
        for name in heard
    }
    try:
        for relay in relays.values():
            relay.start()
            await relay.ready.wait()
        await publish(bus_backends.encode("process-c", payload(1, title="东风花园 3号楼 2单元501")))
        for name in heard:
            got = await heard[name].get()
            assert (got["id"], got["title"]) == (1, "东风花园 3号楼 2单元501"), name
        # What A published, A has delivered itself: only B hears it from the broker.
        await publish(bus_backends.encode("process-a", payload(2)))
        await publish(bus_backends.encode("process-c", payload(3)))
        assert (await heard["b"].get())["id"] == 2
        assert (await heard["b"].get())["id"] == 3
        assert (await heard["a"].get())["id"] == 3
    finally:
        for relay in relays.values():
            await relay.stop()


def test_redis_carries_every_alert_to_every_other_process() -> None:
    _need(6379, "Redis")
    backend = bus_backends.RedisBackend(REDIS_URL, f"test_{uuid.uuid4().hex}")

    async def publish(message: str) -> None:
        backend.publish(message)  # queued; a background thread sends it

    run(lambda: _two_processes(backend, publish))


def _need_postgresql() -> None:
    if connection.vendor != "postgresql":
        message = "LISTEN/NOTIFY needs the suite on PostgreSQL (SHOUWANG_DATABASE_URL)"
        if os.environ.get("SHOUWANG_TEST_DATABASE_URL"):
            message += "; `make pytest-postgres` runs it"
        pytest.skip(message)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgresql_notify_carries_every_alert_to_every_other_process() -> None:
    _need_postgresql()
    backend = bus_backends.PostgresBackend("default", f"test_{uuid.uuid4().hex}")

    async def publish(message: str) -> None:
        # On the test's own connection, as an action's on_commit would: sent at once.
        await sync_to_async(backend.publish)(message)

    run(lambda: _two_processes(backend, publish))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_notify_from_another_process_reaches_this_processs_console(
    town: Town, settings: Any
) -> None:
    """The whole way in: another process NOTIFYs, this process's listener (started by the
    stream) delivers, the worker's stream sends it."""
    _need_postgresql()
    settings.LIVE_BUS = replace(settings.LIVE_BUS, channel=f"test_{uuid.uuid4().hex}")
    other_process = bus_backends.PostgresBackend("default", settings.LIVE_BUS.channel)

    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        await stream.event("snapshot")
        message = bus_backends.encode("another-process", payload(41, town.east_unit.path))
        await sync_to_async(other_process.publish)(message)
        assert (await stream.event("alert"))["id"] == 41
        await stream.close()

    run(scenario)


def test_redis_from_another_process_reaches_this_processs_console(
    town: Town, settings: Any
) -> None:
    _need(6379, "Redis")
    settings.LIVE_BUS = replace(
        settings.LIVE_BUS, redis_url=REDIS_URL, channel=f"test_{uuid.uuid4().hex}"
    )
    other_process = bus_backends.RedisBackend(REDIS_URL, settings.LIVE_BUS.channel)

    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        await stream.event("snapshot")
        other_process.publish(bus_backends.encode("another", payload(42, town.west_unit.path)))
        other_process.publish(bus_backends.encode("another", payload(43, town.east_unit.path)))
        # The west alert is not for this worker: the first thing heard is the east one.
        assert (await stream.event("alert"))["id"] == 43
        await stream.close()

    run(scenario)


# --- The stream -------------------------------------------------------------------------------


class Stream:
    """Reads a text/event-stream body event by event."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.body: AsyncIterator[bytes] = response.streaming_content
        self.pending: list[str] = []
        self.comments: list[str] = []
        self.retry: int | None = None

    async def next(self) -> tuple[str, dict[str, str]]:
        while not self.pending:
            chunk = (await self.body.__anext__()).decode()
            self.pending.extend(b for b in chunk.split("\n\n") if b)
        block = self.pending.pop(0)
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line)
                return "comment", {"text": line}
            name, _sep, value = line.partition(": ")
            fields[name] = value
        if "retry" in fields:
            self.retry = int(fields["retry"])
            return "retry", fields
        return fields["event"], fields

    async def event(self, kind: str) -> dict[str, Any]:
        """The data of the next event, which must be of `kind` (comments are skipped)."""
        while True:
            name, fields = await self.next()
            if name in ("comment", "retry"):
                continue
            assert name == kind, f"expected {kind}, got {name}: {fields}"
            data: dict[str, Any] = json.loads(fields["data"])
            return data

    async def close(self) -> None:
        await self.body.aclose()  # type: ignore[attr-defined]


async def open_stream(user: Any, **headers: str) -> Stream:
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get("/alerts/stream", headers=headers)
    assert response.status_code == 200
    return Stream(response)


def _west_alert(town: Town) -> Alert:
    return alerting.raise_alert(
        Trigger(
            kind="quarantine_door_open",
            subject=f"household:{town.west_home.pk}",
            at=T0,
            title="向阳小区 1号楼 1单元102",
            area=town.west_unit,
            severity=Severity.CRITICAL,
            household=town.west_home,
        )
    )


def test_stream_headers_retry_hint_and_snapshot(town: Town, quarantine: Watch, door: Door) -> None:
    subscribers_before = bus.subscriber_count()
    door("open", T0)
    alert = Alert.objects.get()

    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        response = stream.response
        assert response["Content-Type"].startswith("text/event-stream")
        assert "no-store" in response["Cache-Control"]
        assert (await stream.next())[0] == "retry"
        assert stream.retry == views.RETRY_MS
        snapshot = await stream.event("snapshot")
        assert snapshot["resumed"] is False
        assert [(a["id"], a["status"], a["reason"]) for a in snapshot["alerts"]] == [
            (alert.pk, "open", "snapshot")
        ]
        await stream.close()
        # Reconnecting (EventSource sends the last id it saw): the open alerts again.
        again = await open_stream(town.east_worker, last_event_id="1700000000000")
        snapshot = await again.event("snapshot")
        assert snapshot["resumed"] is True
        assert [a["id"] for a in snapshot["alerts"]] == [alert.pk]
        await again.close()

    run(scenario)
    assert bus.subscriber_count() == subscribers_before


def test_a_worker_never_receives_another_communitys_events(
    town: Town, quarantine: Watch, door: Door, django_capture_on_commit_callbacks: Any
) -> None:
    def open_east() -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            door("open", T0)
        return Alert.objects.get(household=town.east_home)

    def open_west() -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            return _west_alert(town)

    def acknowledge(alert: Alert) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            alerting.acknowledge(town.east_worker, alert)

    async def scenario() -> None:
        east = await open_stream(town.east_worker)
        west = await open_stream(town.west_worker)
        town_operator = await open_stream(town.town_operator)
        for stream in (east, west, town_operator):
            assert (await stream.event("snapshot"))["alerts"] == []

        east_alert = await sync_to_async(open_east)()
        heard = await east.event("alert")
        assert (heard["id"], heard["reason"], heard["status"]) == (east_alert.pk, "opened", "open")
        assert heard["title"] == "东风花园 3号楼 2单元501"

        west_alert = await sync_to_async(open_west)()
        # West's first event is its own alert: east's opening was never sent to it.
        assert (await west.event("alert"))["id"] == west_alert.pk
        # East's next event is its own acknowledgement: west's opening was never sent to it.
        await sync_to_async(acknowledge)(east_alert)
        heard = await east.event("alert")
        assert (heard["id"], heard["reason"], heard["status"]) == (
            east_alert.pk,
            "acknowledged",
            "acknowledged",
        )
        # The town sees both communities, in order.
        assert [(await town_operator.event("alert"))["id"] for _ in range(3)] == [
            east_alert.pk,
            west_alert.pk,
            east_alert.pk,
        ]
        for stream in (east, west, town_operator):
            await stream.close()

    run(scenario)


def test_stream_sends_heartbeats_and_ends_to_be_reconnected(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribers_before = bus.subscriber_count()
    monkeypatch.setattr(views, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(views, "STREAM_SECONDS", 0.3)

    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        await stream.event("snapshot")
        names = []
        while True:
            try:
                names.append((await stream.next())[0])
            except StopAsyncIteration:
                break  # the server ended the stream; EventSource reconnects by itself
        assert names
        assert set(names) == {"comment"}
        assert stream.comments[0] == ": keepalive"

    run(scenario)
    assert bus.subscriber_count() == subscribers_before


def test_stream_needs_a_login_and_the_alert_permission(town: Town) -> None:
    async def scenario() -> None:
        anonymous = await AsyncClient().get("/alerts/stream")
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/login/")
        guard = AsyncClient()
        await guard.aforce_login(town.gate_guard)
        assert (await guard.get("/alerts/stream")).status_code == 403

    run(scenario)


def test_resync_after_a_lost_broker_connection_sends_a_new_snapshot(
    town: Town, quarantine: Watch, door: Door
) -> None:
    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        assert (await stream.event("snapshot"))["alerts"] == []
        await sync_to_async(door)("open", T0 + timedelta(minutes=1))
        bus.deliver_locally({"type": "resync"})
        snapshot = await stream.event("snapshot")
        assert snapshot["resumed"] is True
        assert len(snapshot["alerts"]) == 1
        await stream.close()

    run(scenario)


def test_care_watch_alerts_go_to_the_same_stream(town: Town) -> None:
    """Any alert kind goes through the bus: here one raised by another app's rule."""
    Watch.objects.create(kind=WatchKind.CARE, household=town.east_home, starts_at=T0)

    def raise_one() -> Alert:
        alert = alerting.raise_alert(
            Trigger(
                kind="care_inactivity",
                subject=f"person:{town.east_person.pk}",
                at=T0,
                title="东风花园 3号楼 2单元501",
                area=town.east_unit,
                severity=Severity.CRITICAL,
                household=town.east_home,
                person=town.east_person,
            )
        )
        bus.publish(
            bus.alert_event(Alert.objects.select_related("area").get(pk=alert.pk), "opened")
        )
        return alert

    async def scenario() -> None:
        stream = await open_stream(town.east_worker)
        await stream.event("snapshot")
        alert = await sync_to_async(raise_one)()
        heard = await stream.event("alert")
        assert (heard["id"], heard["kind"], heard["person_id"]) == (
            alert.pk,
            "care_inactivity",
            town.east_person.pk,
        )
        await stream.close()

    run(scenario)


# --- Two real web processes -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SseReader(threading.Thread):
    """A console on one web process: the door numbers of the alerts opened, in order."""

    def __init__(self, port: int, session: str) -> None:
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.request("GET", "/alerts/stream", headers={"Cookie": f"sessionid={session}"})
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        self.opened: queue.Queue[str] = queue.Queue()
        self.ready = threading.Event()

    def run(self) -> None:
        event = ""
        with contextlib.suppress(Exception):  # closed under its feet at the end of the test
            while line := self.response.readline().decode():
                if line.startswith("event: "):
                    event = line[7:].strip()
                    self.ready.set()
                elif line.startswith("data: ") and event == "alert":
                    payload = json.loads(line[6:])
                    if payload["reason"] == "opened":
                        self.opened.put(payload["title"][-5:])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        self.connection.close()


# The benches' seeding (a worker with a forged session): test-only, like the bench itself.
BENCH_SEED = Path(__file__).resolve().parents[2] / "bench" / "seed.py"


def _serve_two(env: dict[str, str], tmp_path: Path) -> None:
    """Two `shouwang serve --web-only` processes on one database: a door opening ingested by
    either reaches the consoles of both."""
    shouwang = [sys.executable, "-m", "shouwang"]
    subprocess.run([*shouwang, "migrate", "-v0"], env=env, check=True, timeout=300)
    seeded = subprocess.run(
        [sys.executable, str(BENCH_SEED), "alert-latency", "--probes=2", "--background=0"],
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [*shouwang, "serve", "--no-migrate", "--web-only", "--port", str(port)],
            env=env,
            stdout=(tmp_path / f"serve-{port}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    readers: list[SseReader] = []
    try:
        for port, server in zip(ports, servers, strict=True):
            deadline = time.monotonic() + 30
            while not _reachable(port):
                assert server.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
                assert time.monotonic() < deadline, "shouwang serve did not start"
                time.sleep(0.1)
        readers = [SseReader(port, seed["session"]) for port in ports]
        for reader in readers:
            reader.start()
            assert reader.ready.wait(10)
        for i, port in enumerate(ports):  # the first door through process A, the second B
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = json.dumps({"device": f"probe-{i:04d}", "door": "open", "id": f"m{i}"})
            headers = {
                "Authorization": f"Bearer {seed['ingest_key']}",
                "Content-Type": "application/json",
            }
            connection.request("POST", "/api/v1/ingest/generic", body, headers)
            assert connection.getresponse().status == 200
            connection.close()
            for reader in readers:
                assert reader.opened.get(timeout=10) == f"P{i:04d}"
    finally:
        for reader in readers:
            reader.close()
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    drop = {"SHOUWANG_DATABASE_URL", "SHOUWANG_REDIS_URL", "SHOUWANG_MQTT_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {"SHOUWANG_VAR_DIR": str(tmp_path), "SHOUWANG_LOG_LEVEL": "WARNING", **extra}
    return env


@pytest.mark.slow
def test_two_web_processes_over_postgresql_both_push_every_alert(tmp_path: Path) -> None:
    _need(5432, "PostgreSQL")
    import psycopg

    name = f"shouwang_bus_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
        _serve_two(_env(tmp_path, SHOUWANG_DATABASE_URL=url), tmp_path)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_two_web_processes_over_redis_both_push_every_alert(tmp_path: Path) -> None:
    """SQLite shared by two processes (WAL) and Redis between them."""
    _need(6379, "Redis")
    _serve_two(_env(tmp_path, SHOUWANG_REDIS_URL=REDIS_URL), tmp_path)


def test_the_property_office_hears_its_door_alerts_live_and_nothing_else(
    town: Town, quarantine: Watch, door: Door, django_capture_on_commit_callbacks: Any
) -> None:
    subscribers_before = bus.subscriber_count()
    from shouwang.core.models import Role
    from shouwang.core.services.staff import create_staff

    office = create_staff(None, "wuye", "pw-wuye-1234", Role.PROPERTY_OFFICE, [town.east_compound])

    def fever_then_door() -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            alerting.raise_alert(
                Trigger(
                    kind="fever",
                    subject=f"person:{town.east_person.pk}",
                    at=T0,
                    title="发热",
                    area=town.east_unit,
                    severity=Severity.CRITICAL,
                    person=town.east_person,
                )
            )
            _west_alert(town)
            door("open", T0)
        return Alert.objects.get(kind="quarantine_door_open", household=town.east_home)

    async def scenario() -> None:
        stream = await open_stream(office)
        assert (await stream.event("snapshot"))["alerts"] == []
        door_alert = await sync_to_async(fever_then_door)()
        # The resident's fever and the other compound's door were never sent to it.
        heard = await stream.event("alert")
        assert (heard["id"], heard["kind"]) == (door_alert.pk, "quarantine_door_open")
        await stream.close()

    run(scenario)
    assert bus.subscriber_count() == subscribers_before
