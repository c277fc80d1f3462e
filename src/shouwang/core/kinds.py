"""The words every app uses to declare its alert kinds: a kind, its label, its severity and
its default settings.

They sit on the ground floor so that any app, `devices` below the alerts engine as much as
`quarantine` above it, declares its own kinds in its own `alert_kinds.py` without importing
the engine. `alerts` discovers those modules at start-up (`AlertsConfig.ready`, Django's
`autodiscover_modules("alert_kinds")`) and is the only reader of `KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Severity(models.IntegerChoices):
    INFO = 10, _("Info")
    WARNING = 20, _("Warning")
    CRITICAL = 30, _("Critical")


@dataclass(frozen=True)
class AlertKind:
    kind: str
    label: str | Promise
    severity: Severity
    params: dict[str, Any] = field(default_factory=dict)
    # Settings inherited down the tree like a rule's, but never an alert kind of its own
    # (escalation timing, a quarantine case's default length): kept out of kind pickers.
    settings_only: bool = False


# kind → its declaration, in the order the apps declared them.
KINDS: dict[str, AlertKind] = {}


def declare(*kinds: AlertKind) -> None:
    """Called once per kind, at import of an app's `alert_kinds.py`; twice is a mistake (two
    apps claiming one name, or a module imported under two names)."""
    for kind in kinds:
        if kind.kind in KINDS:
            raise ImproperlyConfigured(f"alert kind {kind.kind!r} is declared twice")
        KINDS[kind.kind] = kind
