"""`shouwang serve`: migrate if needed, then run the ASGI app under uvicorn."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Shouwang over HTTP (uvicorn, ASGI); static files are served by the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-migrate", action="store_true", help="do not apply pending migrations first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Shouwang on http://{options['host']}:{options['port']}/")
        uvicorn.run(
            "shouwang.asgi:application",
            host=options["host"],
            port=options["port"],
            log_level="info",
            proxy_headers=False,
        )
