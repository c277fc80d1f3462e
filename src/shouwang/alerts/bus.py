"""The live bus: alert changes fanned out to every open console.

In one process, subscribers are asyncio queues fed thread-safely from the thread that
committed. Across processes (several web workers), a message broker carries the same payload
(see `shouwang.alerts.bus_backends`).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from shouwang.alerts.models import Alert

_lock = threading.Lock()
_subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()


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
    }


def subscribe(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[dict[str, Any]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
    with _lock:
        _subscribers.add((loop, queue))
    return queue


def unsubscribe(queue: asyncio.Queue[dict[str, Any]]) -> None:
    with _lock:
        for item in [s for s in _subscribers if s[1] is queue]:
            _subscribers.discard(item)


def _offer(queue: asyncio.Queue[dict[str, Any]], payload: dict[str, Any]) -> None:
    if queue.full():  # a console that stopped reading must not hold the others back
        return
    queue.put_nowait(payload)


def deliver_locally(payload: dict[str, Any]) -> None:
    with _lock:
        targets = list(_subscribers)
    for loop, queue in targets:
        if loop.is_closed():
            continue
        loop.call_soon_threadsafe(_offer, queue, payload)


def publish(payload: dict[str, Any]) -> None:
    """Called after commit, from any thread."""
    deliver_locally(payload)
