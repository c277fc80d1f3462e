"""`shouwang gate_device NAME --compound ID`: a key for a turnstile, kiosk or gate phone."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.passes.services import gates


class Command(BaseCommand):
    help = "Create a gate device and print its API key (shown once; only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--compound", type=int, required=True, help="the compound's area id")

    def handle(self, *args: Any, **options: Any) -> None:
        compound = Area.objects.filter(pk=options["compound"]).first()
        if compound is None:
            raise CommandError(f"no area with id {options['compound']}")
        with audit.origin("cli"):
            try:
                device, key = gates.create_gate_device(None, options["name"], compound)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"gate device {device.pk} ({device.name}, {compound.name})")
        self.stdout.write(f"key: {key}")
