"""`shouwang demo`: seed a demo town (once), print how to log in, and serve."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from shouwang.core import audit
from shouwang.core.demo import DEMO_PASSWORD, seed_demo_town


class Command(BaseCommand):
    help = "Seed a demo town with fake residents and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed-only", action="store_true", help="seed, print, do not serve")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        with audit.origin("cli"):
            town = seed_demo_town()
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Demo town: {town.name}"))
        self.stdout.write(
            f"Open {url} and log in (password for every demo account: {DEMO_PASSWORD}):"
        )
        self.stdout.write("  admin    platform admin (also /admin/)")
        self.stdout.write("  town     town operator, sees the whole town")
        for username, community in town.workers:
            self.stdout.write(f"  {username:<8} community worker of {community}")
        if not options["seed_only"]:
            call_command("serve", host=options["host"], port=options["port"], no_migrate=True)
