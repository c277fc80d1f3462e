"""`shouwang reencrypt`: move every encrypted value to the current data key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shouwang.core import audit
from shouwang.core.services.reencrypt import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the current data key (after a rotation, "
        "before the old key is removed). Safe to stop and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        with audit.origin("cli"):
            done = reencrypt_all(batch=options["batch"])
        for column, rows in done.items():
            self.stdout.write(f"{column}: {rows}")
        self.stdout.write(f"re-encrypted {sum(done.values())} values")
