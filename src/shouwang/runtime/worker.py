"""Running the task consumer: its own process (`shouwang worker`) or inside `shouwang serve`."""

from __future__ import annotations

import logging
from typing import Any

from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY

log = logging.getLogger(__name__)


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer that runs in a background thread of the web process.

    Signal handlers can only be installed from the main thread, which belongs to the web
    server; the server's own shutdown stops this consumer instead.
    """

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(workers: int = 2) -> Any:
    if HUEY.immediate:
        return None
    consumer = EmbeddedConsumer(HUEY, workers=workers, worker_type="thread", periodic=True)
    consumer.start()
    log.info("task consumer running in-process with %d worker threads", workers)
    return consumer
