"""The MQTT ingest bridge: broker messages in, committed events out, acknowledged after commit.

One asyncio task keeps a persistent MQTT 5 session (clean_start off, a session expiry interval,
QoS 1 subscriptions), so messages published while the bridge is down wait at the broker and
arrive when it comes back. Each message is acknowledged (PUBACK) only after the transaction that
stored it has committed: paho-mqtt's manual ack, reached through aiomqtt's paho client until
aiomqtt exposes it (aiomqtt issue #345). A crash between receipt and commit, or between commit
and acknowledgement, makes the broker deliver the message again; the ingest path's dedup keys
(and, for Zigbee2MQTT, "same as the device's last message") store it once.

Batching never waits on a timer: each message is parsed and decoded by its adapter as it
arrives (on the event loop's thread, bypassing aiomqtt's per-message machinery), the first one
starts a batch, whatever else has already arrived joins it (up to SHOUWANG_MQTT_BATCH_MAX), the
batch is stored in one `ingest()` call on a dedicated worker thread (the ORM is synchronous) that
keeps its database connection, and then its PUBACKs are written together. One message alone goes
through in about a millisecond; under load the batches grow by themselves (and are decoded)
while the previous one commits.

Bad input never stops the stream: a message on a topic no adapter is configured for, or one its
adapter cannot decode, becomes a dead letter and is acknowledged with its batch. A database that
is down is not bad input: the batch is retried with backoff and stays unacknowledged meanwhile.
A batch that keeps failing for another reason is split up, message by message, so that one
message the database refuses (a value too long for its column, say) becomes a dead letter
instead of blocking every message behind it.

Configuration (environment, see the README): SHOUWANG_MQTT_URL, SHOUWANG_MQTT_TOPICS,
SHOUWANG_MQTT_CLIENT_ID, SHOUWANG_MQTT_SHARE_GROUP, SHOUWANG_MQTT_BATCH_MAX,
SHOUWANG_MQTT_SESSION_EXPIRY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import ssl
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as paho
import uvicorn
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from shouwang.config import env
from shouwang.devices.adapters import ADAPTERS, DecodeError, MqttAdapter
from shouwang.devices.adapters.zigbee2mqtt import Zigbee2MqttAdapter
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest, record_dead_letter

log = logging.getLogger(__name__)

TRANSPORT = "mqtt"
DEFAULT_TOPICS = (
    "zigbee2mqtt=zigbee2mqtt/#,chirpstack=application/+/device/+/event/+,generic=shouwang/generic/#"
)
DEFAULT_CLIENT_ID = "shouwang-ingest"
DEFAULT_BATCH_MAX = 500
DEFAULT_SESSION_EXPIRY = 24 * 3600
# Dead letters for messages that reached us on a topic no configured adapter covers (typically a
# subscription left in the persistent session by an earlier SHOUWANG_MQTT_TOPICS).
UNROUTED = "unrouted"
# A batch failing this many times in a row for a reason other than the database being
# unreachable is split up message by message, so one bad message cannot block the stream.
ISOLATE_AFTER = 3

# Topics remembered with their route; forgotten all at once beyond this many.
ROUTE_CACHE_MAX = 65536
# PUBACK for a message id: the short form MQTT 5 allows for success without properties.
_PUBACK = struct.Struct("!BBH")

IngestFunction = Callable[[Sequence[Incoming], str], IngestResult]


@dataclass(frozen=True)
class Route:
    """Messages matching `topic_filter` are decoded by `adapter`."""

    adapter_name: str
    topic_filter: str
    adapter: MqttAdapter

    def matches(self, topic: str) -> bool:
        return paho.topic_matches_sub(self.topic_filter, topic)


@dataclass(frozen=True)
class BridgeSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    routes: tuple[Route, ...] = ()
    client_id: str = DEFAULT_CLIENT_ID
    share_group: str = ""
    batch_max: int = DEFAULT_BATCH_MAX
    # How long the broker keeps our session (subscriptions and queued messages) while we are away.
    session_expiry: int = DEFAULT_SESSION_EXPIRY
    keepalive: int = 30
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0
    retry_initial: float = 0.5
    retry_max: float = 30.0

    @classmethod
    def from_env(cls) -> BridgeSettings:
        url = env("MQTT_URL")
        if not url:
            raise ImproperlyConfigured(
                "SHOUWANG_MQTT_URL is not set; e.g. mqtt://127.0.0.1:1883 or "
                "mqtts://user:password@broker.example:8883"
            )
        return replace(
            parse_url(url),
            routes=parse_topics(env("MQTT_TOPICS") or DEFAULT_TOPICS),
            client_id=_client_id(env("MQTT_CLIENT_ID", DEFAULT_CLIENT_ID)),
            share_group=_share_group(env("MQTT_SHARE_GROUP")),
            batch_max=_positive_int("MQTT_BATCH_MAX", DEFAULT_BATCH_MAX),
            session_expiry=_positive_int("MQTT_SESSION_EXPIRY", DEFAULT_SESSION_EXPIRY),
        )

    def subscriptions(self) -> list[str]:
        prefix = f"$share/{self.share_group}/" if self.share_group else ""
        return [prefix + route.topic_filter for route in self.routes]

    def describe(self) -> str:
        """Where we connect, for logs: never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port} as {self.client_id!r}"


def configured() -> bool:
    """Whether this installation talks to a broker at all (SHOUWANG_MQTT_URL is set)."""
    return bool(env("MQTT_URL"))


def parse_url(url: str) -> BridgeSettings:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ImproperlyConfigured(
            f"SHOUWANG_MQTT_URL must start with mqtt:// or mqtts://, got {parts.scheme!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("SHOUWANG_MQTT_URL has an invalid port") from None
    if not parts.hostname:
        raise ImproperlyConfigured("SHOUWANG_MQTT_URL names no host")
    tls = parts.scheme == "mqtts"
    return BridgeSettings(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


def parse_topics(text: str) -> tuple[Route, ...]:
    routes: list[Route] = []
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        name, sep, topic_filter = (s.strip() for s in pair.partition("="))
        if not sep or not name or not topic_filter:
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {pair!r} is not adapter=filter (e.g. generic=shouwang/#)"
            )
        adapter = ADAPTERS.get(name)
        if adapter is None:
            known = ", ".join(sorted(n for n, a in ADAPTERS.items() if hasattr(a, "decode_mqtt")))
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: unknown adapter {name!r}; MQTT adapters: {known}"
            )
        if not hasattr(adapter, "decode_mqtt"):
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {name!r} messages arrive over HTTP, not MQTT"
            )
        _check_filter(topic_filter)
        routes.append(Route(name, topic_filter, _adapter_for(name, adapter, topic_filter)))
    if not routes:
        raise ImproperlyConfigured("SHOUWANG_MQTT_TOPICS names no topics")
    return tuple(routes)


def _adapter_for(name: str, adapter: Any, topic_filter: str) -> MqttAdapter:
    # Zigbee2MQTT's base topic is a setting of each gateway: `home/z2m/#` means base `home/z2m`.
    if isinstance(adapter, Zigbee2MqttAdapter) and topic_filter.endswith("/#"):
        base = topic_filter[: -len("/#")]
        wildcards = "+" in base or "#" in base
        if not wildcards and not (base + "/").startswith(adapter.base_topic + "/"):
            return Zigbee2MqttAdapter(base_topic=base)
    mqtt_adapter: MqttAdapter = adapter
    return mqtt_adapter


def _check_filter(topic_filter: str) -> None:
    if topic_filter.startswith("$share/"):
        raise ImproperlyConfigured(
            "SHOUWANG_MQTT_TOPICS: write the plain filter and set SHOUWANG_MQTT_SHARE_GROUP "
            f"instead of {topic_filter!r}"
        )
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        wildcard_misused = ("#" in level and (level != "#" or index != len(levels) - 1)) or (
            "+" in level and level != "+"
        )
        if wildcard_misused:
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {topic_filter!r} is not a valid MQTT topic filter"
            )


def _client_id(value: str) -> str:
    value = value.strip()
    if not value or len(value.encode()) > 65535:
        raise ImproperlyConfigured("SHOUWANG_MQTT_CLIENT_ID must be a non-empty string")
    return value


def _share_group(value: str) -> str:
    value = value.strip()
    if any(c in value for c in "/+#"):
        raise ImproperlyConfigured("SHOUWANG_MQTT_SHARE_GROUP must not contain '/', '+' or '#'")
    return value


def _positive_int(name: str, default: int) -> int:
    text = env(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ImproperlyConfigured(f"SHOUWANG_{name} must be a positive integer, got {text!r}")
    return value


def backoff(attempt: int, initial: float, cap: float) -> float:
    """Exponential, capped, with jitter so that many bridges do not come back in lock step."""
    ceiling = min(cap, initial * 2 ** min(attempt, 30))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 -- spreading retries, not secrecy


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


class Received(NamedTuple):
    """One MQTT message as the bridge takes it from the broker."""

    topic: str
    payload: bytes
    qos: int
    mid: int


class _Inbox:
    """Where the paho client puts the messages it reads, decoded; the bridge takes them in batches.

    It replaces aiomqtt's per-message path (a paho MQTTMessage with its MQTT 5 Properties
    object, an aiomqtt Message and Topic, an asyncio queue and a task per await), which cost
    more than storing the message. The common PUBLISH (QoS 0 or 1, no MQTT 5 properties, a
    topic that is valid UTF-8) is parsed here; any other goes through paho as before and
    reaches `on_message`. Both run on the event loop's thread, where aiomqtt reads the socket,
    and so does `decode`: messages are decoded as they arrive, while the worker thread is
    storing the previous batch.
    """

    def __init__(self, client: paho.Client, decode: Callable[[Received], _Item]) -> None:
        self.items: deque[_Item] = deque()
        self._decode = decode
        self._client = client
        self._waiter: asyncio.Future[None] | None = None
        self._paho_handle_publish: Callable[[], MQTTErrorCode] = client._handle_publish
        client.on_message = self._on_message
        # Only with manual acknowledgements (we never let paho acknowledge on receipt) and
        # MQTT 5 (the properties length we look at exists only there).
        if client._manual_ack and client._protocol == paho.MQTTv5:
            client._handle_publish = self._handle_publish  # type: ignore[method-assign]

    def wait(self) -> asyncio.Future[None]:
        """A future done when a message arrives."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def take(self, most: int) -> list[_Item]:
        items = self.items
        if len(items) <= most:
            batch = list(items)
            items.clear()
            return batch
        return [items.popleft() for _ in range(most)]

    def _add(self, message: Received) -> None:
        self.items.append(self._decode(message))
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._client._in_packet
        header = packet["command"]
        data = packet["packet"]
        qos = (header & 0x06) >> 1
        topic_end = 2 + int.from_bytes(data[:2], "big")
        properties = topic_end + 2 if qos else topic_end
        # Anything unusual (QoS 2, properties, an empty topic: a topic alias) is paho's to do,
        # a malformed packet included.
        if qos > 1 or topic_end == 2 or properties >= len(data) or data[properties] != 0:
            return self._paho_handle_publish()
        try:
            topic = data[2:topic_end].decode()
        except UnicodeDecodeError:
            return self._paho_handle_publish()
        mid = (data[topic_end] << 8 | data[topic_end + 1]) if qos else 0
        self._add(Received(topic, bytes(data[properties + 1 :]), qos, mid))
        # Not acknowledged: manual ack, after the commit.
        return paho.MQTT_ERR_SUCCESS

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        self._add(Received(message.topic, bytes(message.payload), message.qos, message.mid))


def _acknowledge(client: paho.Client, items: Sequence[_Item]) -> None:
    """PUBACKs in the order the messages came (as MQTT requires), written together."""
    pubacks = bytearray()
    for item in items:
        message = item.message
        if message.qos == 1:
            pubacks += _PUBACK.pack(paho.PUBACK, 2, message.mid)
        elif message.qos == 2:
            _queue(client, pubacks)
            pubacks = bytearray()
            code = client.ack(message.mid, message.qos)
            if code != paho.MQTT_ERR_SUCCESS:
                raise aiomqtt.MqttCodeError(code, "could not acknowledge a message")
    _queue(client, pubacks)


def _queue(client: paho.Client, packets: bytearray) -> None:
    # paho writes what it queued as one stream of bytes: several PUBACKs go out as one write.
    if packets:
        code = client._packet_queue(paho.PUBACK, bytes(packets), 0, 0)
        if code != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(code, "could not acknowledge a message")


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
        # Event loop thread only: each topic's route, looked up once.
        self._routes: dict[str, Route | None] = {}

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Connect, consume and reconnect until stop(). Never returns because of the broker."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-ingest")
        attempt = 0
        try:
            while not self.stopping:
                started = time.monotonic()
                try:
                    await self._session(executor)
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
                    "MQTT broker %s unavailable (%s); reconnect attempt %d in %.1f s",
                    self.settings.describe(),
                    problem,
                    attempt,
                    delay,
                )
                await self._sleep_unless_stopped(delay)
        finally:
            self.ready.clear()
            # Django connections belong to their thread: close the worker's on the worker.
            executor.submit(connections.close_all)
            executor.shutdown(wait=not _cancelling())
        log.info("MQTT bridge stopped")

    def _client(self) -> tuple[aiomqtt.Client, _Inbox]:
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
        return client, _Inbox(client._client, self._decode)

    async def _session(self, executor: ThreadPoolExecutor) -> None:
        client, inbox = self._client()
        async with client:
            self.stats.connects += 1
            await self._subscribe(client)
            log.info(
                "MQTT bridge connected to %s, subscribed to %s",
                self.settings.describe(),
                ", ".join(self.settings.subscriptions()),
            )
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
        self, client: aiomqtt.Client, inbox: _Inbox, executor: ThreadPoolExecutor
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
                _acknowledge(client._client, items)
                self._count(items, result)
        finally:
            stop_waiter.cancel()

    async def _arrival(
        self, client: aiomqtt.Client, inbox: _Inbox, stop_waiter: asyncio.Future[Any]
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
                if not isinstance(exc, OperationalError | InterfaceError):
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
            item.incoming = [Incoming(reading, received_at) for reading in readings]
        return item

    # --- the worker thread -------------------------------------------------------------------

    def _store(self, items: list[_Item]) -> IngestResult:
        with _fresh_connection(), transaction.atomic():
            for item in items:
                if item.reason is not None:
                    _dead_letter(item, item.reason)
            incoming = [i for item in items if item.reason is None for i in item.incoming]
            return self._ingest(incoming, TRANSPORT)

    def _store_each(self, items: list[_Item]) -> IngestResult:
        """Each message in its own transaction; one the database refuses becomes a dead letter."""
        total = IngestResult()
        with _fresh_connection():
            for item in items:
                if item.reason is None:
                    try:
                        with transaction.atomic():
                            result = self._ingest(item.incoming, TRANSPORT)
                    except (OperationalError, InterfaceError):
                        raise
                    except Exception as exc:
                        log.exception("message on %s could not be stored", item.topic)
                        item.reason = f"could not be stored: {type(exc).__name__}: {exc}"
                    else:
                        _add(total, result)
                        continue
                if not item.recorded:
                    with transaction.atomic():
                        _dead_letter(item, item.reason)
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


def _check_connected(client: aiomqtt.Client) -> None:
    # The connection may have dropped while the batch was being stored (the database was slow or
    # down): its message ids mean nothing on the next connection, where the broker sends the
    # batch again anyway, so reconnect now instead of acknowledging into the void.
    lost = client._disconnected
    if lost.done():
        cause = None if lost.cancelled() else lost.exception()
        raise aiomqtt.MqttError("connection lost before the batch was acknowledged") from cause


def _dead_letter(item: _Item, reason: str) -> None:
    record_dead_letter(item.adapter_name, TRANSPORT, reason, item.message.payload, topic=item.topic)


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


async def run_until_signalled(bridge: Bridge) -> None:
    """`shouwang ingest`: the bridge alone, stopped gracefully by SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("run_until_signalled() must run inside a task")

    def on_signal() -> None:
        if bridge.stopping:
            # Second signal: do not wait for a database that does not answer. Nothing is lost:
            # what was not acknowledged is delivered again.
            task.cancel()
        bridge.stop()

    with _signal_handlers(loop, {signal.SIGINT: on_signal, signal.SIGTERM: on_signal}):
        await bridge.run()


class _Server(uvicorn.Server):
    # Signals are ours here: uvicorn's own handlers would re-raise SIGTERM once the web side has
    # stopped, killing the process while the bridge is still finishing its batch.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_with_bridge(config: uvicorn.Config, bridge: Bridge) -> None:
    """`shouwang serve` with a broker: web server and bridge as two tasks on one event loop."""
    loop = asyncio.get_running_loop()
    server = _Server(config)
    web = asyncio.create_task(server.serve(), name="web")
    mqtt = asyncio.create_task(bridge.run(), name="mqtt-bridge")

    def on_signal(sig: int) -> None:
        if bridge.stopping:
            # Second signal: as in run_until_signalled, do not wait for the database.
            mqtt.cancel()
        bridge.stop()
        server.handle_exit(sig, None)

    handlers = {sig: partial(on_signal, sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with _signal_handlers(loop, handlers):
        await asyncio.wait({web, mqtt}, return_when=asyncio.FIRST_COMPLETED)
        # Whichever ends first (a signal, a port already in use) ends the other one too.
        bridge.stop()
        server.should_exit = True
        await asyncio.wait({web, mqtt})
    web.result()
    if not mqtt.cancelled():
        mqtt.result()


@contextlib.contextmanager
def _signal_handlers(
    loop: asyncio.AbstractEventLoop, handlers: Mapping[signal.Signals, Callable[[], None]]
) -> Iterator[None]:
    for sig, handler in handlers.items():
        loop.add_signal_handler(sig, handler)
    try:
        yield
    finally:
        for sig in handlers:
            loop.remove_signal_handler(sig)


def run(bridge: Bridge | None = None) -> None:
    """Blocking entry point for `shouwang ingest`."""
    asyncio.run(run_until_signalled(bridge or Bridge(BridgeSettings.from_env())))


__all__ = [
    "DEFAULT_TOPICS",
    "Bridge",
    "BridgeSettings",
    "BridgeStats",
    "Route",
    "backoff",
    "configured",
    "parse_topics",
    "parse_url",
    "run",
    "serve_with_bridge",
]
