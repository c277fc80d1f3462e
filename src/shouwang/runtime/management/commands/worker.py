"""`shouwang worker`: the task consumer (notifications, periodic checks) as its own process."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from shouwang.alerts.notify import fast


class Command(BaseCommand):
    help = "Run the task consumer: queued deliveries and periodic checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        fast.start()  # alerts raised by tasks (timers, offline devices) send at once
        call_command("run_huey", workers=options["workers"], worker_type="thread")
