"""The quarantine app's alert kinds and area settings, in the alerts app's rule registry.

Imported once at start-up (`QuarantineConfig.ready`). Settings are inherited down the area
tree like every rule's (`alerts.models.RuleSetting`), so a town sets 14 days and a community
that follows a stricter order sets 21.
"""

from __future__ import annotations

from datetime import time

from django.utils.translation import gettext_lazy as _

from shouwang.alerts.models import Severity
from shouwang.alerts.rules import Rule, register

HEALTH_CHECK_MISSED = "health_check_missed"
FEVER = "fever"
# Settings only: a case's default length and how long its personal data is kept after it.
QUARANTINE_CASE = "quarantine_case"

register(
    Rule(
        HEALTH_CHECK_MISSED,
        _("Health check missed"),
        Severity.WARNING,
        # A check is due twice a day: the morning one by `morning_until`, the afternoon one
        # by `afternoon_until` (local time).
        {"morning_until": "12:00", "afternoon_until": "20:00"},
    )
)
register(Rule(FEVER, _("Fever during home quarantine"), Severity.CRITICAL, {"threshold": 37.3}))
register(
    Rule(
        QUARANTINE_CASE,
        _("Home quarantine case settings"),
        Severity.INFO,
        {"days": 14, "retention_days": 30},
        settings_only=True,
    )
)


def parse_time(text: str) -> time:
    hour, minute = str(text).split(":")
    return time(int(hour), int(minute))
