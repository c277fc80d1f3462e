"""`shouwang demo`: seed a demo town (once), print how to log in, and serve.

While it serves, a small receiver on this machine (`runtime/inbox.py`) takes what the demo's
webhook channel sends and prints each notification here; the channel is seeded (or pointed at
the receiver's port) on every run. Simulated door sensors (the installed demo sensors) send a
few events per second to the demo's own server over HTTP with the demo ingest key, starting
once the server listens; with SHOUWANG_MQTT_URL set they publish to that broker instead.
`--no-simulate` keeps the town quiet.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from shouwang.core import audit
from shouwang.core.demo import DEMO_PASSWORD, DemoTown, seed_demo_town
from shouwang.runtime.inbox import Inbox

# Events per second the demo's sensors send, averaged over a day (busier mornings and evenings).
DEMO_RATE = 3.0


class Command(BaseCommand):
    help = "Seed a demo town with fake residents and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed-only", action="store_true", help="seed, print, do not serve")
        parser.add_argument(
            "--no-simulate", action="store_true", help="do not run the simulated door sensors"
        )
        parser.add_argument(
            "--inbox-port",
            type=int,
            default=None,
            help="port of the demo's notification receiver (default: --port + 1, or any free)",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=DEMO_RATE,
            help="events per second from the simulated sensors",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        inbox = None
        if not options["seed_only"]:
            wanted = options["inbox_port"]
            inbox = self._inbox(options["port"] + 1 if wanted is None else wanted)
        with audit.origin("cli"):
            town = seed_demo_town(notify_url=inbox.url if inbox else "")
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Demo town: {town.name}"))
        self.stdout.write(
            f"Open {url} and log in (password for every demo account: {DEMO_PASSWORD}):"
        )
        self.stdout.write("  admin    platform admin (also /admin/)")
        self.stdout.write("  town     town operator, sees the whole town")
        for username, community in town.workers:
            self.stdout.write(f"  {username:<8} community worker of {community}")
        if town.guard_compound:
            self.stdout.write(f"  guard    gate guard of {town.guard_compound} (the gate page)")
            self.stdout.write(
                f"  property property office of {town.guard_compound} (its door alerts, 上门)"
            )
        self.stdout.write(
            f"Door sensors: {len(town.sensors)} installed, {town.sensors_in_stock} in stock; "
            f"the demo gateway's ingest key (generic adapter) is in {town.ingest_key_file}"
        )
        self.stdout.write(
            "Every resident has a pass (staff: Passes); the demo turnstile's key for "
            f"POST /api/v1/gate/verify is in {town.gate_key_file}"
        )
        if inbox is not None:
            self.stdout.write(
                "Notifications: the demo's webhook channel sends to a receiver on "
                f"{inbox.url.removeprefix('json://')}; each one is printed here as a [通知] line "
                "and shown as sent on the alert's page."
            )
        if options["seed_only"] or inbox is None:
            return
        stop = None
        if not options["no_simulate"] and town.sensors:
            stop = self._simulate(town, options["host"], options["port"], options["rate"])
        try:
            call_command("serve", host=options["host"], port=options["port"], no_migrate=True)
        finally:
            if stop is not None:
                stop.set()  # the server is gone: nothing left to send to
            inbox.stop()

    def _inbox(self, port: int) -> Inbox:
        """The receiver of the demo's notifications, on `port` or, if taken, any free one."""

        def show(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            return Inbox(show, port=port).start()
        except OSError:
            return Inbox(show, port=0).start()

    def _simulate(self, town: DemoTown, host: str, port: int, rate: float) -> threading.Event:
        from shouwang.devices.simulator import (
            DoorTraffic,
            HttpTransport,
            MqttTransport,
            Transport,
            run_in_background,
        )

        target = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
        mqtt_url = settings.MQTT.url
        key = town.ingest_key()
        sensors = list(town.sensors)

        def make_traffic() -> DoorTraffic:
            return DoorTraffic(
                start=datetime.now(UTC), keys=sensors, rate=rate, formats=["generic"]
            )

        def make_transport() -> Transport:
            if mqtt_url:
                return MqttTransport(mqtt_url)
            netloc = f"[{target}]" if ":" in target else target
            return HttpTransport(f"http://{netloc}:{port}", key)

        _, stop = run_in_background(
            make_traffic,
            make_transport,
            # MQTT: each message at its own time; HTTP: one batch a second.
            interval=0.0 if mqtt_url else 1.0,
            wait_for=(target, port),
        )
        where = f"MQTT ({mqtt_url})" if mqtt_url else "HTTP"
        self.stdout.write(
            f"Simulating {len(sensors)} door sensors at about {rate:g} events/s over {where} "
            "once the server is up (--no-simulate to turn off)."
        )
        return stop
