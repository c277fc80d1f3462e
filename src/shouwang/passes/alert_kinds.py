"""The passes app's alert kind: a resident under home quarantine tried to pass a gate
(raised by `passes.services.verify`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shouwang.core.kinds import AlertKind, Severity, declare

QUARANTINE_GATE_DENIED = "quarantine_gate_denied"

declare(
    AlertKind(
        QUARANTINE_GATE_DENIED,
        _("Resident under home quarantine tried to pass a gate"),
        Severity.CRITICAL,
    )
)
