"""Hosting the MQTT bridge in a process: alone (`shouwang ingest`) or beside the web server on
one event loop (`shouwang serve` with a broker), with graceful SIGTERM/SIGINT handling.

The bridge itself (`devices.mqtt_bridge`) knows nothing of processes or signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping
from functools import partial

import uvicorn

from shouwang.devices.mqtt_bridge import Bridge, BridgeSettings


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
