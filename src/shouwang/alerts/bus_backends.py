"""Carrying live-bus messages between processes: Redis pub/sub or PostgreSQL LISTEN/NOTIFY.

Which one is configuration, not code: Redis when SHOUWANG_REDIS_URL is set, else PostgreSQL's
own LISTEN/NOTIFY when the database is PostgreSQL, else none (the embedded shape is one process,
and the in-process fan-out in `bus` is all there is). The channel is "shouwang_alerts" unless
settings.LIVE_BUS.channel (SHOUWANG_LIVE_BUS_CHANNEL) names another (two installations sharing one
Redis, or tests).

A message is one JSON text: {"o": <origin>, "p": <payload>}. The origin names the process that
published it; that process has already delivered it to its own consoles, so its listener skips
it. Every other process's listener hands it to its local subscribers.

Publishing is a plain function, called after commit from whatever thread committed:
- Redis: a background thread per process sends what is queued (the caller never waits on the
  network, and a Redis outage costs the caller nothing but a log line);
- PostgreSQL: `SELECT pg_notify(...)` on Django's own connection of the calling thread, right
  after its commit. A payload must stay under 8000 bytes there; `encode` keeps it so.

Listening is a coroutine on the serving event loop, with redis-py's asyncio client or a
psycopg 3 async connection; `bus.subscription()` starts it while consoles are connected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db import connections

from shouwang.config import LiveBusConfig

log = logging.getLogger(__name__)

CHANNEL = "shouwang_alerts"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_PAYLOAD_BYTES = 7900
# What a console needs at the least to place an alert (it fetches the rest itself).
_ESSENTIAL = ("type", "reason", "id", "kind", "severity", "status", "area_path")

Deliver = Callable[[str], None]


class Backend(Protocol):
    name: str

    def publish(self, message: str) -> None:
        """Send one encoded message; from any thread; must not raise."""

    async def listen(self, deliver: Deliver, ready: Callable[[], None]) -> None:
        """Receive messages until cancelled, calling `ready` once subscribed. A lost
        connection ends it with an exception; the caller retries."""


def encode(origin: str, payload: dict[str, Any]) -> str:
    """The message for `payload`, under MAX_PAYLOAD_BYTES: an oversized one keeps only what a
    console needs to place the alert (it loads the rest when shown)."""
    text = json.dumps({"o": origin, "p": payload}, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) <= MAX_PAYLOAD_BYTES:
        return text
    slim = {k: payload[k] for k in _ESSENTIAL if k in payload}
    slim["title"] = str(payload.get("title", ""))[:60]
    slim["truncated"] = True
    text = json.dumps({"o": origin, "p": slim}, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > MAX_PAYLOAD_BYTES:  # an absurd area path: nothing sensible left
        raise ValueError("live-bus payload too large")
    return text


def decode(message: str | bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        data = json.loads(message)
        origin, payload = data["o"], data["p"]
    except (ValueError, TypeError, KeyError):
        log.warning("live bus: dropped an unreadable message")
        return None
    if not isinstance(origin, str) or not isinstance(payload, dict):
        return None
    return origin, payload


# --- Redis ------------------------------------------------------------------------------------


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def publish(self, message: str) -> None:
        self._queue.put(message)
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._send_forever, name="shouwang-bus-redis", daemon=True
                    )
                    self._thread.start()

    def _send_forever(self) -> None:
        import redis

        client: redis.Redis | None = None
        while True:
            message = self._queue.get()
            try:
                if client is None:
                    client = redis.Redis.from_url(
                        self.url, socket_connect_timeout=2, socket_timeout=2
                    )
                client.publish(self.channel, message)
            except Exception:  # the bus is best effort: consoles resync when they reconnect
                log.warning("live bus: could not publish to Redis", exc_info=True)
                if client is not None:
                    client.close()
                client = None

    async def listen(self, deliver: Deliver, ready: Callable[[], None]) -> None:
        import redis.asyncio as aredis

        client = aredis.Redis.from_url(self.url, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            ready()
            while True:
                # No timeout: wait for the next message however long it takes.
                message = await pubsub.get_message(timeout=None)
                if message is not None and message.get("type") == "message":
                    data = message["data"]
                    deliver(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()


# --- PostgreSQL -------------------------------------------------------------------------------


class PostgresBackend:
    name = "postgres"

    def __init__(self, alias: str = "default", channel: str = CHANNEL) -> None:
        self.alias = alias
        self.channel = channel

    def publish(self, message: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._notify(message)
            return
        # Called on an event loop: Django's connections are for threads, so hand it to one.
        threading.Thread(target=self._notify_and_close, args=(message,), daemon=True).start()

    def _notify(self, message: str) -> None:
        try:
            with connections[self.alias].cursor() as cursor:
                # Inside a transaction this waits for its commit; after one it goes at once.
                cursor.execute("SELECT pg_notify(%s, %s)", [self.channel, message])
        except Exception:
            log.warning("live bus: could not NOTIFY", exc_info=True)

    def _notify_and_close(self, message: str) -> None:
        try:
            self._notify(message)
        finally:
            connections[self.alias].close()

    def conninfo(self) -> dict[str, Any]:
        params: dict[str, Any] = connections[self.alias].get_connection_params()
        for django_only in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(django_only, None)
        return params

    async def listen(self, deliver: Deliver, ready: Callable[[], None]) -> None:
        import psycopg
        from psycopg import sql

        params = self.conninfo()
        async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            ready()
            async for notify in conn.notifies():
                deliver(notify.payload)


# --- Which one --------------------------------------------------------------------------------

_lock = threading.Lock()
_backends: dict[tuple[str, str, str], Backend] = {}


def configured() -> Backend | None:
    """The cross-process backend this deployment uses, or None for in-process only."""
    live_bus: LiveBusConfig = settings.LIVE_BUS
    redis_url, channel = live_bus.redis_url, live_bus.channel
    if redis_url:
        key = ("redis", redis_url, channel)
    elif connections["default"].vendor == "postgresql":
        key = ("postgres", "default", channel)
    else:
        return None
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = (
                RedisBackend(redis_url, channel)
                if key[0] == "redis"
                else PostgresBackend("default", channel)
            )
            _backends[key] = backend
    return backend
