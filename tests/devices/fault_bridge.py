"""The MQTT bridge in a process of its own, for tests/devices/test_ingest_faults.py.

    python -m tests.devices.fault_bridge [KILL_AFTER_BATCH]

Configured like `shouwang ingest` (SHOUWANG_*). Prints "ready" once subscribed. With
KILL_AFTER_BATCH, the process kills itself (SIGKILL) right after that batch has committed and
before its PUBACKs are written: the crash that makes the broker deliver a stored batch again.
Otherwise it runs until SIGTERM and prints its stats as JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
django.setup()

from shouwang.devices.mqtt_bridge import Bridge, BridgeSettings, Received  # noqa: E402
from shouwang.devices.services.ingest import IngestResult  # noqa: E402
from shouwang.runtime.hosting import run_until_signalled  # noqa: E402


async def main(kill_after: int) -> None:
    batches = 0

    async def after_commit(_batch: Sequence[Received], _result: IngestResult) -> None:
        nonlocal batches
        batches += 1
        if batches == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    bridge = Bridge(BridgeSettings.from_env(), after_commit=after_commit)

    async def announce() -> None:
        await bridge.ready.wait()
        print("ready", flush=True)

    announcing = asyncio.create_task(announce())
    await run_until_signalled(bridge)
    announcing.cancel()
    print(json.dumps(dataclasses.asdict(bridge.stats)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
