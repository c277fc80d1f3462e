"""`shouwang pass_keys [list|rotate|retire KID]`: the keys that sign passes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.core import audit
from shouwang.passes.models import SigningKey
from shouwang.passes.services import keys, rotation


class Command(BaseCommand):
    help = (
        "List, rotate (add a new signing key) or retire a pass-signing key. Retiring re-signs "
        "the live passes the key signed; residents' links keep working and show the new code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["list", "rotate", "retire"], nargs="?", default="list"
        )
        parser.add_argument("kid", nargs="?", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        with audit.origin("cli"):
            if options["action"] == "rotate":
                key = keys.create_signing_key(None)
                self.stdout.write(f"new signing key {key.kid}: passes issued from now on use it")
            elif options["action"] == "retire":
                try:
                    count = rotation.retire_signing_key(None, options["kid"])
                except ValidationError as exc:
                    raise CommandError(" ".join(exc.messages)) from None
                self.stdout.write(f"retired {options['kid']}; {count} passes re-signed")
        for key in SigningKey.objects.order_by("created_at", "id"):
            held = (keys.key_dir() / f"{key.kid}.key").exists()
            self.stdout.write(
                f"{key.kid}  {key.status:8}  {key.created_at:%Y-%m-%d %H:%M}"
                f"  {'private key here' if held else 'no private key on this machine'}"
            )
