"""The live bus: alert changes fanned out to every open console.

In one process, subscribers are asyncio queues fed thread-safely from the thread that
committed. Across processes (several web workers), a message broker carries the same payload
(see `shouwang.alerts.bus_backends`): `publish` delivers to this process's consoles at once and
hands the message to the broker; every other web process's listener receives it and delivers
it to its own consoles. A process listens only while it has consoles connected
(`subscription()` starts and stops the listener).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from shouwang.alerts import bus_backends
from shouwang.alerts.models import Alert

log = logging.getLogger(__name__)

# Names this process on the broker, so its listener skips what it published itself.
ORIGIN = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
# How long a listener stays up after the last console left (a page reload reconnects).
LINGER_SECONDS = 30.0
# How long a new console waits for the listener to subscribe before going on without it.
READY_TIMEOUT = 3.0

Queue = asyncio.Queue[dict[str, Any]]

_lock = threading.Lock()
_subscribers: set[tuple[asyncio.AbstractEventLoop, Queue]] = set()


def alert_event(alert: Alert, reason: str) -> dict[str, Any]:
    """What a console needs to place the alert, without personal data (the console fetches
    the masked details it may see)."""
    return {
        "type": "alert",
        "reason": reason,
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "title": alert.title,
        "area_path": alert.area.path if alert.area_id and alert.area else "",
        "occurrences": alert.occurrences,
        "opened_at": alert.opened_at.isoformat(),
        "last_occurred_at": alert.last_occurred_at.isoformat(),
        # Opaque ids: whether there is someone to call, never who.
        "household_id": alert.household_id,
        "person_id": alert.person_id,
        "assignee_id": alert.assignee_id,
    }


def subscribe(loop: asyncio.AbstractEventLoop) -> Queue:
    queue: Queue = asyncio.Queue(maxsize=1000)
    with _lock:
        _subscribers.add((loop, queue))
    return queue


def unsubscribe(queue: Queue) -> None:
    with _lock:
        for item in [s for s in _subscribers if s[1] is queue]:
            _subscribers.discard(item)


def subscriber_count() -> int:
    with _lock:
        return len(_subscribers)


def _offer(queue: Queue, payload: dict[str, Any]) -> None:
    if queue.full():  # a console that stopped reading must not hold the others back
        return
    queue.put_nowait(payload)


def deliver_locally(
    payload: dict[str, Any], only_loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """Hand `payload` to this process's subscribers (those on `only_loop`, if given)."""
    with _lock:
        targets = list(_subscribers)
    for loop, queue in targets:
        if loop.is_closed() or (only_loop is not None and loop is not only_loop):
            continue
        with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
            loop.call_soon_threadsafe(_offer, queue, payload)


def publish(payload: dict[str, Any]) -> None:
    """Called after commit, from any thread. Never raises: the change is committed, and a
    console that missed an event catches up when it reconnects."""
    deliver_locally(payload)
    backend = bus_backends.configured()
    if backend is None:
        return
    try:
        message = bus_backends.encode(ORIGIN, payload)
    except ValueError:
        log.warning("live bus: payload of alert %s too large to send", payload.get("id"))
        return
    backend.publish(message)


# --- The listener: one per event loop that serves consoles ------------------------------------


class Relay:
    """Listens on a backend and delivers what other processes published to the subscribers on
    its own event loop. Reconnects with a growing pause; after a reconnect, tells its consoles
    to resync (they may have missed something)."""

    def __init__(
        self,
        backend: bus_backends.Backend,
        loop: asyncio.AbstractEventLoop,
        origin: str = ORIGIN,
        deliver: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.backend = backend
        self.loop = loop
        self.origin = origin
        # Where received payloads go: this loop's subscribers (a test may listen itself).
        self.deliver = deliver or functools.partial(deliver_locally, only_loop=loop)
        self.ready = asyncio.Event()
        self.connections = 0
        self.users = 0
        self.task: asyncio.Task[None] | None = None
        self._stop_handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run(), name=f"live-bus-{self.backend.name}")

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.task = None
        self.ready.clear()

    def _on_ready(self) -> None:
        self.connections += 1
        self.ready.set()
        if self.connections > 1:
            self.deliver({"type": "resync"})

    def _on_message(self, message: str) -> None:
        decoded = bus_backends.decode(message)
        if decoded is None:
            return
        origin, payload = decoded
        if origin == self.origin:
            return  # published here, and delivered here already
        self.deliver(payload)

    async def _run(self) -> None:
        pause = 0.5
        while True:
            try:
                await self.backend.listen(self._on_message, self._on_ready)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "live bus: %s listener lost, retrying", self.backend.name, exc_info=True
                )
            self.ready.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    # Consoles come and go; the listener runs while any is connected (and a little longer).

    async def attach(self) -> None:
        self.users += 1
        if self._stop_handle is not None:
            self._stop_handle.cancel()
            self._stop_handle = None
        self.start()
        try:
            await asyncio.wait_for(self.ready.wait(), READY_TIMEOUT)
        except TimeoutError:
            log.warning("live bus: %s listener not ready; serving local events", self.backend.name)

    def detach(self) -> None:
        self.users = max(0, self.users - 1)
        if self.users == 0:
            if LINGER_SECONDS <= 0:
                self._stop_soon()
            else:
                self._stop_handle = self.loop.call_later(LINGER_SECONDS, self._stop_soon)

    def _stop_soon(self) -> None:
        self._stop_handle = None
        if self.users == 0 and self.task is not None:
            self.task.cancel()
            self.task = None
            self.ready.clear()


_relays: dict[asyncio.AbstractEventLoop, Relay] = {}


def _relay_for(loop: asyncio.AbstractEventLoop) -> Relay | None:
    backend = bus_backends.configured()
    if backend is None:
        return None
    with _lock:
        for stale in [lp for lp in _relays if lp.is_closed()]:
            del _relays[stale]
        relay = _relays.get(loop)
        if relay is None or relay.backend is not backend:
            relay = _relays[loop] = Relay(backend, loop)
    return relay


@contextlib.asynccontextmanager
async def subscription() -> AsyncIterator[Queue]:
    """A queue of live events for one console, for as long as the block runs. With a
    cross-process backend, this loop listens on it while any console is subscribed."""
    loop = asyncio.get_running_loop()
    queue = subscribe(loop)
    relay = _relay_for(loop)
    try:
        if relay is not None:
            await relay.attach()
        yield queue
    finally:
        unsubscribe(queue)
        if relay is not None:
            relay.detach()
