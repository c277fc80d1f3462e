"""`shouwang serve`: migrate if needed, then run the ASGI app under uvicorn.

Without --web-only this is the embedded deployment shape, one process: the task consumer runs
in background threads, and with SHOUWANG_MQTT_URL set the MQTT ingest bridge runs on
uvicorn's event loop.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.alerts.notify import fast
from shouwang.core.logs import uvicorn_log_config
from shouwang.runtime.worker import start_embedded


class Command(BaseCommand):
    help = "Serve Shouwang over HTTP (uvicorn, ASGI); static files are served by the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-migrate", action="store_true", help="do not apply pending migrations first"
        )
        parser.add_argument(
            "--web-only",
            action="store_true",
            help="serve HTTP only: no MQTT bridge (`shouwang ingest`) and no task consumer "
            "(`shouwang worker`)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Shouwang on http://{options['host']}:{options['port']}/")
        fast.start()  # the first alert's deliveries find their sender warm
        consumer = None if options["web_only"] else start_embedded()
        # Django, the apps and their modules are loaded by now and live as long as the
        # process: keep them out of the collector's generations, so its pauses stay short
        # (they showed in the gate's p99).
        gc.collect()
        gc.freeze()
        try:
            if settings.MQTT.url and not options["web_only"]:
                self._serve_with_bridge(options)
                return
            uvicorn.run(
                "shouwang.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="info",
                log_config=uvicorn_log_config(),
                proxy_headers=False,
            )
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)

    def _serve_with_bridge(self, options: dict[str, Any]) -> None:
        # Imported here so that --web-only processes never load the bridge.
        from shouwang.devices.mqtt_bridge import Bridge, BridgeSettings
        from shouwang.runtime import hosting

        try:
            bridge = Bridge(BridgeSettings.from_env())
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        config = uvicorn.Config(
            "shouwang.asgi:application",
            host=options["host"],
            port=options["port"],
            log_level="info",
            log_config=uvicorn_log_config(),
            proxy_headers=False,
        )
        asyncio.run(hosting.serve_with_bridge(config, bridge))
