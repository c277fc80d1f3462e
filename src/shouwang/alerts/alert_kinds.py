"""The alerts engine's own kinds: escalation timing (settings only) and unusual access to
personal data (`alerts.privacy`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shouwang.core.kinds import AlertKind, Severity, declare

# Not an alert kind: when and how often unacknowledged alerts climb the tree.
ESCALATION = "escalation"
UNUSUAL_ACCESS = "unusual_data_access"

declare(
    AlertKind(
        ESCALATION,
        _("Escalation"),
        Severity.INFO,
        {"ack_minutes": 5, "remind_minutes": 15, "max_level": 2},
        settings_only=True,
    ),
    AlertKind(
        UNUSUAL_ACCESS,
        _("Unusual volume of personal data revealed or exported"),
        Severity.CRITICAL,
        # Floors: below these nobody is flagged, however quiet their habit. Factor: how many
        # times the account's own average (over `baseline_days`) counts as "far more".
        {"reveals_per_hour": 30, "exports_per_day": 5, "factor": 5, "baseline_days": 30},
    ),
)
