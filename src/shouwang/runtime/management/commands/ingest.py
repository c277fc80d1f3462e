"""`shouwang ingest`: the MQTT ingest bridge on its own, until SIGTERM or SIGINT.

The first signal lets the batch in hand commit and be acknowledged, then disconnects; a second one
stops at once (whatever was not acknowledged is delivered again by the broker).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from shouwang.alerts.notify import fast
from shouwang.devices.mqtt_bridge import Bridge, BridgeSettings
from shouwang.runtime import hosting


class Command(BaseCommand):
    help = "Run the MQTT ingest bridge (SHOUWANG_MQTT_*) until SIGTERM or SIGINT."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            settings = BridgeSettings.from_env()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"MQTT bridge: {settings.describe()}, topics {', '.join(settings.subscriptions())}"
        )
        fast.start()  # the first alert's deliveries find their sender warm
        hosting.run(Bridge(settings))
