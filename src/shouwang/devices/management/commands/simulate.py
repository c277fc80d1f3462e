"""`shouwang simulate`: door sensors sending realistic traffic, to an MQTT broker or over HTTP.

    shouwang simulate --mqtt mqtt://127.0.0.1:1883 --devices 100 --rate 50
    shouwang simulate --http http://127.0.0.1:8000 --key sw_… --devices 40 --rate 5

Over MQTT every format is published on its network's topics (Zigbee2MQTT, ChirpStack v4 with
WS301 / LDS02 payloads, generic); over HTTP only the generic format exists, sent in batches.
Runs for --duration seconds, or until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.devices.simulator import (
    FORMATS,
    DoorTraffic,
    HttpTransport,
    MqttTransport,
    RunStats,
    SimulatorError,
    Transport,
    TransportError,
    run,
)


class Command(BaseCommand):
    help = "Simulate door sensors sending realistic traffic (MQTT or HTTP)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--mqtt", metavar="URL", help="broker, e.g. mqtt://127.0.0.1:1883")
        target.add_argument("--http", metavar="URL", help="Shouwang, e.g. http://127.0.0.1:8000")
        parser.add_argument("--key", help="ingest key of the generic adapter (with --http)")
        parser.add_argument("--key-file", type=Path, help="read the ingest key from this file")
        parser.add_argument("--devices", type=int, default=20, help="number of sensors")
        parser.add_argument(
            "--rate",
            type=float,
            default=2.0,
            help="messages per second, averaged over a day (door traffic follows the daily "
            "rhythm unless --flat)",
        )
        parser.add_argument(
            "--formats",
            default=None,
            help=f"comma-separated, from {','.join(FORMATS)} (default: all over MQTT, "
            "generic over HTTP)",
        )
        parser.add_argument("--duration", type=float, default=None, help="seconds; default: ever")
        parser.add_argument("--seed", type=int, default=None, help="for a reproducible run")
        parser.add_argument("--prefix", default="sim", help="device name prefix")
        parser.add_argument(
            "--ids",
            default=None,
            help="comma-separated device ids to use instead of generated names (sets --devices)",
        )
        parser.add_argument("--flat", action="store_true", help="no daily rhythm: same rate")
        parser.add_argument(
            "--batch", type=int, default=500, help="most messages in one HTTP request"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between sends (default: 0.5 over HTTP, each message at its time "
            "over MQTT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        http = options["http"]
        formats = (
            [f.strip() for f in options["formats"].split(",") if f.strip()]
            if options["formats"]
            else (["generic"] if http else list(FORMATS))
        )
        if http and formats != ["generic"]:
            raise CommandError(
                "over HTTP only the generic format is sent; Zigbee2MQTT and ChirpStack "
                "messages arrive over MQTT (use --mqtt)"
            )
        key = options["key"]
        if options["key_file"] is not None:
            try:
                key = options["key_file"].read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(f"cannot read the key file: {exc}") from exc
        ids = [i for i in (options["ids"] or "").split(",") if i.strip()] or None
        seed = (
            options["seed"]
            if options["seed"] is not None
            else random.SystemRandom().getrandbits(32)
        )
        try:
            traffic = DoorTraffic(
                start=datetime.now(UTC),
                devices=options["devices"],
                rate=options["rate"],
                formats=formats,
                seed=seed,
                prefix=options["prefix"],
                keys=ids,
                flat=options["flat"],
            )
            transport: Transport
            if http:
                transport = HttpTransport(http, key or "", batch=options["batch"])
            else:
                transport = MqttTransport(options["mqtt"])
        except (ValueError, SimulatorError) as exc:
            raise CommandError(str(exc)) from exc
        interval = options["interval"]
        if interval is None:
            interval = 0.5 if http else 0.0
        self.stdout.write(
            f"Simulating {len(traffic.devices)} door sensors ({', '.join(formats)}) at "
            f"{options['rate']:g} messages/s to {http or options['mqtt']} (seed {seed}); "
            "Ctrl-C stops."
        )
        stop = threading.Event()

        async def main() -> RunStats:
            # Ctrl-C (or SIGTERM) ends the run cleanly, so the summary is still printed.
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, stop.set)
            return await run(
                traffic, transport, duration=options["duration"], interval=interval, stop=stop
            )

        try:
            stats = asyncio.run(main())
        except TransportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(stats.as_dict(), ensure_ascii=False))
        if stats.failed:
            raise CommandError(f"{stats.failed} messages could not be sent: {stats.errors[:3]}")
