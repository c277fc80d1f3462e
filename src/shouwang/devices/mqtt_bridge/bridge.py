"""The bridge: one persistent MQTT session, messages decoded as they arrive, stored in batches on
a worker thread, acknowledged after the commit. See the package docstring for the why."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiomqtt
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.utils.translation import gettext as _
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from shouwang.core import edge
from shouwang.core.models import Area
from shouwang.core.sqlite import writer
from shouwang.devices import pipeline
from shouwang.devices.adapters import DecodeError
from shouwang.devices.alert_kinds import INGEST_SESSION_LOST
from shouwang.devices.models import Device
from shouwang.devices.mqtt_bridge import status as status_file
from shouwang.devices.mqtt_bridge.config import BridgeSettings, Route
from shouwang.devices.mqtt_bridge.wire import Inbox, Received, acknowledge
from shouwang.devices.services.ingest import (
    Incident,
    Incoming,
    IngestResult,
    ingest,
    record_dead_letter,
)

log = logging.getLogger(__name__)

TRANSPORT = "mqtt"
# Dead letters for messages that reached us on a topic no configured adapter covers (typically a
# subscription left in the persistent session by an earlier SHOUWANG_MQTT_TOPICS).
UNROUTED = "unrouted"
# A batch failing this many times in a row for a reason other than the database being
# unreachable is split up message by message, so one bad message cannot block the stream.
ISOLATE_AFTER = 3
# While the database is down, how often it is probed (it answers again: back within this).
DATABASE_PROBE = 0.2
# How often a connected bridge notes that it still is (status file).
STATUS_EVERY = 5.0
# While the broker's port is closed, how often it is probed.
BROKER_PROBE = 0.2
# Topics remembered with their route; forgotten all at once beyond this many.
ROUTE_CACHE_MAX = 65536

IngestFunction = Callable[[Sequence[Incoming], str, Area | None], IngestResult]


def backoff(attempt: int, initial: float, cap: float) -> float:
    """Exponential, capped, with jitter so that many bridges do not come back in lock step."""
    ceiling = min(cap, initial * 2 ** min(attempt, 30))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 -- spreading retries, not secrecy


class ProbeSchedule:
    """Probing something that is down: a probe starts every `interval` seconds, counted from
    the start of the previous one, so a slow probe eats into the wait instead of adding to it.
    Whatever comes back is found within `interval` (plus one probe). `clock` is injectable."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._started = clock()

    def probing(self) -> None:
        """A probe starts now."""
        self._started = self.clock()

    def wait(self) -> float:
        """How long to sleep before the next probe."""
        return max(0.0, self._started + self.interval - self.clock())


@dataclass
class BridgeStats:
    connects: int = 0
    batches: int = 0
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    failed_commits: int = 0
    last_batch_size: int = 0


@dataclass
class _Item:
    """One MQTT message of a batch, decoded (or not) as it arrived."""

    message: Received
    topic: str
    received_at: datetime
    adapter_name: str = ""
    incoming: list[Incoming] = field(default_factory=list)
    # Why this message is a dead letter; None when it decoded.
    reason: str | None = None
    # A dead letter's device, as its topic names it (its area is the letter's).
    device_key: str | None = None
    # Its dead letter is committed already (a retry after a partial failure must not repeat it).
    recorded: bool = False


class Bridge:
    """Run with `await bridge.run()`; `stop()` ends it after the batch in hand is acknowledged.

    `after_commit`, when given, is awaited between a batch's commit and its acknowledgement:
    the moment a crash is most interesting, which is what tests use it for. `ingest_function`
    replaces `ingest()` (tests use it to make the database fail).
    """

    def __init__(
        self,
        settings: BridgeSettings,
        *,
        after_commit: Callable[[Sequence[Received], IngestResult], Awaitable[None]] | None = None,
        ingest_function: IngestFunction = ingest,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.routes:
            raise ImproperlyConfigured("the MQTT bridge needs at least one adapter=filter route")
        self.settings = settings
        self.stats = BridgeStats()
        # Set while subscribed; tests and health checks wait on it.
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._after_commit = after_commit
        self._ingest = ingest_function
        self._clock = clock
        # Event loop thread only: each topic's route, looked up once.
        self._routes: dict[str, Route | None] = {}
        # CONNACK of the current connection: did the broker still have our session?
        self._session_present = False
        self._broker_was_closed = False
        # SHOUWANG_MQTT_AREA, looked up once by the worker thread (`_configured_area`).
        self._area: Area | None = None
        self._area_loaded = False
        # What we tell the health page, and remember for our next start.
        self._status = status_file.load(settings.client_id)
        self._status.broker = settings.describe()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Connect, consume and reconnect until stop(). Never returns because of the broker."""
        # On SQLite the batches go to the process's one writer thread, with every other write.
        shared = writer.shared_executor()
        executor = shared or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-ingest")
        attempt = 0
        try:
            while not self.stopping:
                started = time.monotonic()
                try:
                    await self._session(executor)
                except DatabaseDown as exc:
                    # Disconnected on purpose: the broker keeps the messages meanwhile, instead
                    # of them piling up here. Back the moment the database answers.
                    self.ready.clear()
                    self._set_state("database unreachable", str(exc))
                    log.error(
                        "database unreachable (%s); disconnected from the MQTT broker until it "
                        "answers again",
                        exc,
                    )
                    await self._wait_for_database(executor)
                    attempt = 0
                    continue
                except aiomqtt.MqttError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                except Exception as exc:
                    # A bug must not end ingestion for good: what was not acknowledged will be
                    # delivered again after the reconnect.
                    log.exception("MQTT bridge failed; reconnecting")
                    problem = f"{type(exc).__name__}: {exc}"
                else:
                    break
                finally:
                    self.ready.clear()
                if self.stopping:
                    break
                # A connection that held for a while starts the backoff afresh.
                if time.monotonic() - started > self.settings.reconnect_max:
                    attempt = 0
                delay = backoff(
                    attempt, self.settings.reconnect_initial, self.settings.reconnect_max
                )
                attempt += 1
                log.warning(
                    "MQTT broker %s unavailable (%s); reconnect attempt %d in %.1f s at most",
                    self.settings.describe(),
                    problem,
                    attempt,
                    delay,
                )
                self._set_state("broker unreachable", problem)
                await self._wait_for_broker(delay)
        finally:
            self.ready.clear()
            self._set_state("stopped")
            # Django connections belong to their thread: close the worker's on the worker.
            if shared is None:
                executor.submit(connections.close_all)
                executor.shutdown(wait=not _cancelling())
        log.info("MQTT bridge stopped")

    def _client(self) -> tuple[aiomqtt.Client, Inbox[_Item]]:
        settings = self.settings
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = settings.session_expiry
        # The broker sends at most this many unacknowledged messages (Mosquitto's default is 20,
        # which would cap every batch at 20): room for one batch committing and the next filling.
        properties.ReceiveMaximum = min(65535, max(20, 2 * settings.batch_max))
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=settings.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            # aiomqtt's default cleans the session on the first connection: that would throw away
            # whatever the broker kept for us while we were down.
            clean_start=False,
            keepalive=settings.keepalive,
            properties=properties,
            tls_context=ssl.create_default_context() if settings.tls else None,
        )
        # Before connecting: a resumed session delivers its backlog right after CONNACK, before
        # `async with` hands the client back, and paho would acknowledge all of it on receipt.
        client._client.manual_ack_set(True)
        # CONNACK's "session present" flag: aiomqtt does not keep it, so listen in.
        aiomqtt_on_connect = client._client.on_connect

        def on_connect(*args: Any) -> None:
            flags = args[2]
            self._session_present = bool(flags.session_present)
            if aiomqtt_on_connect is not None:
                aiomqtt_on_connect(*args)

        client._client.on_connect = on_connect
        return client, Inbox(client._client, self._decode)

    async def _session(self, executor: ThreadPoolExecutor) -> None:
        client, inbox = self._client()
        if not self.stats.connects:
            # Said once at start-up: a paho upgrade that removed what the parser relies on
            # makes the bridge slower, not wrong, and this is where an operator sees it.
            if inbox.fast_path_off:
                log.warning(
                    "MQTT bridge: fast path off (%s); paho parses every message",
                    inbox.fast_path_off,
                )
            else:
                log.info("MQTT bridge: fast path on (own PUBLISH parser, batched PUBACKs)")
        async with client:
            self.stats.connects += 1
            await self._check_session(executor)
            await self._subscribe(client)
            log.info(
                "MQTT bridge connected to %s, subscribed to %s",
                self.settings.describe(),
                ", ".join(self.settings.subscriptions()),
            )
            self._set_state("connected")
            self.ready.set()
            await self._consume(client, inbox, executor)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        # Retained messages only for a new subscription: a reconnect must not replay every
        # device's retained availability message.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        topics = self.settings.subscriptions()
        granted: list[int | ReasonCode] = list(
            await client.subscribe([(topic, options) for topic in topics])
        )
        for topic, code in zip(topics, granted, strict=True):
            value = code.value if isinstance(code, ReasonCode) else code
            if value >= 0x80:
                raise aiomqtt.MqttError(f"the broker refused the subscription {topic!r}: {code}")
            if value == 0:
                log.warning("the broker granted only QoS 0 for %r: messages may be lost", topic)

    async def _consume(
        self, client: aiomqtt.Client, inbox: Inbox[_Item], executor: ThreadPoolExecutor
    ) -> None:
        loop = asyncio.get_running_loop()
        stop_waiter = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self.stopping:
                if not inbox.items and not await self._arrival(client, inbox, stop_waiter):
                    return
                # Whatever has already arrived makes the batch; nothing waits for more.
                items = inbox.take(self.settings.batch_max)
                result = await self._commit(loop, executor, items)
                if result is None:
                    return  # stopping while the database was failing: left unacknowledged
                if self._after_commit is not None:
                    await self._after_commit([item.message for item in items], result)
                _check_connected(client)
                acknowledge(client._client, [item.message for item in items])
                self._count(items, result)
                self._still_connected()
        finally:
            stop_waiter.cancel()

    async def _arrival(
        self, client: aiomqtt.Client, inbox: Inbox[_Item], stop_waiter: asyncio.Future[Any]
    ) -> bool:
        """Wait for a message: True when one is in `inbox`, False when stopping."""
        arrived = inbox.wait()
        lost = client._disconnected
        await asyncio.wait({arrived, lost, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        if inbox.items:
            return True
        if lost.done():
            cause = None if lost.cancelled() else lost.exception()
            raise aiomqtt.MqttError("Disconnected during message iteration") from cause
        # Stopping. A message that arrives just now is not stored, so not acknowledged: the
        # broker delivers it again next time.
        return False

    async def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        executor: ThreadPoolExecutor,
        items: list[_Item],
    ) -> IngestResult | None:
        """Store the batch, retrying while the database fails; None if stopped meanwhile."""
        attempts = 0
        # Consecutive failures that are not "the database is unreachable".
        failures = 0
        while True:
            isolate = failures >= ISOLATE_AFTER
            try:
                work = self._store_each if isolate else self._store
                return await loop.run_in_executor(executor, work, items)
            except Exception as exc:
                self.stats.failed_commits += 1
                if isinstance(exc, OperationalError | InterfaceError):
                    if not await loop.run_in_executor(executor, database_answers):
                        raise DatabaseDown(f"{type(exc).__name__}: {exc}") from exc
                else:
                    failures += 1
                delay = backoff(attempts, self.settings.retry_initial, self.settings.retry_max)
                attempts += 1
                log.exception(
                    "could not store a batch of %d MQTT messages; they stay unacknowledged "
                    "and are retried in %.1f s%s",
                    len(items),
                    delay,
                    "; next attempt stores them one by one" if failures == ISOLATE_AFTER else "",
                )
            if await self._sleep_unless_stopped(delay):
                return None

    async def _wait_for_database(self, executor: ThreadPoolExecutor) -> None:
        """Probe the database every DATABASE_PROBE seconds until it answers (or stop())."""
        loop = asyncio.get_running_loop()
        schedule = ProbeSchedule(DATABASE_PROBE, self._clock)
        while not self.stopping:
            schedule.probing()
            if await loop.run_in_executor(executor, database_answers):
                log.info("database answers again; reconnecting to the MQTT broker")
                return
            await self._sleep_unless_stopped(schedule.wait())

    async def _wait_for_broker(self, most: float) -> None:
        """Wait up to `most` seconds, but no longer than it takes the broker's port to accept
        connections again: a broker that comes back is used at once (a backoff that sleeps on
        would miss the publishers' own reconnects)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + most
        while not self.stopping and loop.time() < deadline:
            if await _port_open(self.settings.host, self.settings.port):
                # Listening, yet the connection failed (refused login, a broker starting up):
                # that is what the backoff is for.
                if not self._broker_was_closed:
                    await self._sleep_unless_stopped(max(0.0, deadline - loop.time()))
                self._broker_was_closed = False
                return
            self._broker_was_closed = True
            await self._sleep_unless_stopped(min(BROKER_PROBE, max(0.0, deadline - loop.time())))
        self._broker_was_closed = False

    async def _check_session(self, executor: ThreadPoolExecutor) -> None:
        """Did the broker keep the session we left with? If not, what it queued for us while
        we were away is gone: say so loudly (log and an alert to the platform admins)."""
        now = time.time()
        expected = self._status.session_expected(now)
        self._status.connected_until = now
        self._status.session_expiry = self.settings.session_expiry
        if self._session_present or not expected:
            return
        self._status.session_lost_at = now
        log.error(
            "MQTT session lost: the broker %s had no session for %r although it should have "
            "kept it %d s after we were last connected; messages queued for us meanwhile may be "
            "lost (check the broker's persistence: docs/device-integration.md)",
            self.settings.describe(),
            self.settings.client_id,
            self.settings.session_expiry,
        )
        incident = Incident(
            kind=INGEST_SESSION_LOST,
            subject=_subject(self.settings.client_id),
            at=datetime.now(UTC),
            title=_("The MQTT broker lost the session of ingest bridge %(client)s")
            % {"client": self.settings.client_id},
            detail={"broker": self.settings.describe(), "client_id": self.settings.client_id},
        )
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, _report, incident)
        except Exception:
            # The log line above stands; the alert must not stop ingestion.
            log.exception("could not raise the session-lost alert")

    def _still_connected(self) -> None:
        # The broker keeps our session for its expiry after we were last connected: keep that
        # moment current (at most every STATUS_EVERY seconds) so the next start knows.
        now = time.time()
        if now - self._status.connected_until > STATUS_EVERY:
            self._status.connected_until = now
            status_file.save(self._status)

    def _set_state(self, state: str, detail: str = "") -> None:
        status = self._status
        if status.state != state:
            status.state, status.since = state, time.time()
        status.detail = detail
        if state == "connected":
            status.connected_until = time.time()
        status_file.save(status)

    # --- the event loop thread, as messages arrive ---------------------------------------------

    def _route(self, topic: str) -> Route | None:
        routes = self._routes
        try:
            return routes[topic]
        except KeyError:
            pass
        if len(routes) >= ROUTE_CACHE_MAX:
            routes.clear()
        found = routes[topic] = next((r for r in self.settings.routes if r.matches(topic)), None)
        return found

    def _decode(self, message: Received) -> _Item:
        # Adapters are pure functions of topic and payload (no database).
        topic = message.topic
        item = _Item(message, topic, datetime.now(UTC))
        route = self._route(topic)
        if route is None:
            item.adapter_name = UNROUTED
            item.reason = "the topic matches no adapter in SHOUWANG_MQTT_TOPICS"
            return item
        item.adapter_name = route.adapter_name
        try:
            readings = route.adapter.decode_mqtt(topic, message.payload)
        except DecodeError as exc:
            item.reason = exc.reason
        except Exception as exc:
            # An adapter bug, not the sender's fault; keep the message for a person to see.
            log.exception("adapter %s failed on a message", route.adapter_name)
            item.reason = f"adapter error: {type(exc).__name__}: {exc}"
        else:
            received_at = item.received_at
            mid, dup = message.mid, message.dup
            item.incoming = [Incoming(reading, received_at, mid, dup) for reading in readings]
            return item
        with contextlib.suppress(Exception):
            item.device_key = route.adapter.topic_device(topic)
        return item

    # --- the worker thread -------------------------------------------------------------------

    def _configured_area(self) -> Area | None:
        if not self._area_loaded:
            area_id = self.settings.area_id
            self._area = Area.objects.filter(pk=area_id).first() if area_id else None
            if area_id and self._area is None:
                log.error("SHOUWANG_MQTT_AREA=%d names no area: platform admins only", area_id)
            self._area_loaded = True
        return self._area

    def _dead_letter_areas(self, items: list[_Item]) -> dict[int, Area | None]:
        """Each dead letter's area: its device's, if the topic names a known device placed in
        an area, else SHOUWANG_MQTT_AREA's (None: platform admins see it). One query."""
        fallback = self._configured_area()
        keys = {
            item.device_key
            for item in items
            if item.device_key
            and len(item.device_key) <= 200
            and not edge.is_hostile(item.device_key)
        }
        known: dict[tuple[str, str], Area | None] = {}
        if keys:
            devices = Device.objects.filter(key__in=keys).select_related("area")
            known = {(d.adapter, d.key): d.area for d in devices}
        return {
            id(item): known.get((item.adapter_name, item.device_key or "")) or fallback
            for item in items
        }

    def _store(self, items: list[_Item]) -> IngestResult:
        with _fresh_connection(), transaction.atomic():
            dead = [item for item in items if item.reason is not None]
            if dead:
                areas = self._dead_letter_areas(dead)
                for item in dead:
                    _dead_letter(item, item.reason or "", areas[id(item)])
            incoming = [i for item in items if item.reason is None for i in item.incoming]
            return self._ingest(incoming, TRANSPORT, self._configured_area())

    def _store_each(self, items: list[_Item]) -> IngestResult:
        """Each message in its own transaction; one the database refuses becomes a dead letter."""
        total = IngestResult()
        with _fresh_connection():
            for item in items:
                if item.reason is None:
                    try:
                        with transaction.atomic():
                            result = self._ingest(item.incoming, TRANSPORT, self._configured_area())
                    except (OperationalError, InterfaceError):
                        raise
                    except Exception as exc:
                        log.exception("message on %s could not be stored", item.topic)
                        item.reason = f"could not be stored: {type(exc).__name__}: {exc}"
                        if item.incoming:
                            item.device_key = item.incoming[0].reading.device_key
                    else:
                        _add(total, result)
                        continue
                if not item.recorded:
                    with transaction.atomic():
                        _dead_letter(item, item.reason, self._dead_letter_areas([item])[id(item)])
                    item.recorded = True
        return total

    def _count(self, items: list[_Item], result: IngestResult) -> None:
        stats = self.stats
        stats.batches += 1
        stats.messages += len(items)
        stats.last_batch_size = len(items)
        stats.stored += result.stored
        stats.duplicates += result.duplicates
        stats.dead_letters += sum(1 for item in items if item.reason is not None)

    async def _sleep_unless_stopped(self, delay: float) -> bool:
        """Sleep; True (at once) if stop() is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        return self.stopping


@contextlib.contextmanager
def _fresh_connection() -> Iterator[None]:
    # Drops a connection the database closed (restart, idle timeout) before we use it, and one
    # a failed batch left broken, so the next attempt reconnects.
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


def _subject(client_id: str) -> str:
    # Alert.subject holds 40 characters; a long client id is named by its hash.
    if len(client_id) <= 35:
        return f"mqtt:{client_id}"
    return f"mqtt:{hashlib.sha256(client_id.encode()).hexdigest()[:35]}"


class DatabaseDown(Exception):
    """The database does not answer: the bridge disconnects until it does."""


def database_answers() -> bool:
    """A fresh connection and a trivial query; the worker thread's connection, which the next
    batch uses, is left open when it works."""
    try:
        close_old_connections()
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError):
        connection.close()
        return False
    return True


def _report(incident: Incident) -> None:
    with _fresh_connection(), transaction.atomic():
        pipeline.run(IngestResult(incidents=[incident]))


async def _port_open(host: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _check_connected(client: aiomqtt.Client) -> None:
    # The connection may have dropped while the batch was being stored (the database was slow or
    # down): its message ids mean nothing on the next connection, where the broker sends the
    # batch again anyway, so reconnect now instead of acknowledging into the void.
    lost = client._disconnected
    if lost.done():
        cause = None if lost.cancelled() else lost.exception()
        raise aiomqtt.MqttError("connection lost before the batch was acknowledged") from cause


def _dead_letter(item: _Item, reason: str, area: Area | None) -> None:
    record_dead_letter(
        item.adapter_name,
        TRANSPORT,
        reason,
        item.message.payload,
        topic=item.topic,
        area=area,
        redelivered=item.message.dup,
    )


def _add(total: IngestResult, result: IngestResult) -> None:
    total.stored += result.stored
    total.duplicates += result.duplicates
    total.stale += result.stale
    total.new_devices += result.new_devices
    total.events.extend(result.events)
    total.health.extend(result.health)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


# --- running it ------------------------------------------------------------------------------
