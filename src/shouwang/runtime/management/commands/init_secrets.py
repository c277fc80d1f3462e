"""`shouwang init-secrets`: create the secrets this installation keeps under SHOUWANG_VAR_DIR.

The explicit step of an installation (the Makefile runs it; production runs it once, or gives
SHOUWANG_SECRET_KEY and SHOUWANG_DATA_KEYS instead). A secret given in the environment or
already on file is kept: running it again changes nothing, so it is safe in a deploy script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand

from shouwang import config


def _has_secret_key() -> bool:
    try:
        return bool(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses to hand out an empty one
        return False


class Command(BaseCommand):
    help = "Create the secret key and the data keys under SHOUWANG_VAR_DIR (0600) if missing."
    # The checks would stop this command for the very secrets it creates.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        var = Path(settings.VAR_DIR)
        have_key, have_data_keys = _has_secret_key(), settings.SHOUWANG_DATA_KEYS is not None
        made = config.init_var_dir(var, secret_key=not have_key, data_keys=not have_data_keys)
        for name, variable, had in (
            (config.SECRET_KEY_FILE, "SHOUWANG_SECRET_KEY", have_key),
            (config.DATA_KEYS_FILE, "SHOUWANG_DATA_KEYS", have_data_keys),
        ):
            path = var / name
            if path in made:
                self.stdout.write(self.style.SUCCESS(f"created {path} (0600)"))
            elif had and not path.exists():
                self.stdout.write(f"given in {variable}: nothing written")
            else:
                self.stdout.write(f"kept {path}")
