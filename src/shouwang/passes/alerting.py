"""The passes app's alert kind, registered with the alerts app when Django starts."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shouwang.alerts import rules
from shouwang.alerts.models import Severity

QUARANTINE_GATE_DENIED = "quarantine_gate_denied"


def register() -> None:
    rules.register(
        rules.Rule(
            QUARANTINE_GATE_DENIED,
            _("Resident under home quarantine tried to pass a gate"),
            Severity.CRITICAL,
        )
    )
