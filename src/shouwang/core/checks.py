"""System checks of the installation: Django runs them before every command that needs them
(`serve`, `ingest`, `worker`, `migrate`, `check --deploy`…)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from shouwang import config


def _missing(check_id: str, what: str, variable: str, name: str, why: str) -> checks.Error:
    path = Path(settings.VAR_DIR) / name
    return checks.Error(
        f"No {what}: {variable} is not set and {path} does not exist.",
        hint=f"Run `shouwang init-secrets` (writes {path}, readable by its owner only) or set "
        f"{variable}. {why}",
        id=check_id,
    )


def register() -> None:
    """Called by `CoreConfig.ready()`."""
    checks.register(secrets_present, checks.Tags.security)


def secrets_present(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """The secret key and the data keys, which the settings read but never create."""
    found: list[checks.CheckMessage] = []
    try:
        settings.SECRET_KEY  # noqa: B018  (Django raises for an empty one)
    except ImproperlyConfigured:
        found.append(
            _missing(
                "shouwang.E001",
                "secret key",
                "SHOUWANG_SECRET_KEY",
                config.SECRET_KEY_FILE,
                "A new one logs everybody out.",
            )
        )
    if settings.SHOUWANG_DATA_KEYS is None:
        found.append(
            _missing(
                "shouwang.E002",
                "data keys",
                "SHOUWANG_DATA_KEYS",
                config.DATA_KEYS_FILE,
                "Back them up apart from the database: without them its ID and phone numbers "
                "cannot be read.",
            )
        )
    return found
