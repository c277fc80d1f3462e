"""The reporting app's alert kinds, found by the alerts engine's
`autodiscover_modules("alert_kinds")`. They are raised by `services.anomalies`, inside the
transaction that stores the declarations, for the organisation's area.

Settings are inherited down the area tree like every kind's: a district sets its threshold
and its list of risk areas (with the dates they were at risk), a street may tighten them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shouwang.core.kinds import AlertKind, Severity, declare

REPORTING_FEVER = "reporting_fever"
REPORTING_SYMPTOMS = "reporting_symptoms"
REPORTING_TRAVEL = "reporting_travel"
REPORTING_CONTACT = "reporting_contact"
REPORTING_CLUSTER = "reporting_cluster"

declare(
    AlertKind(
        REPORTING_FEVER,
        _("Fever declared by an organisation"),
        Severity.CRITICAL,
        {"threshold": 37.3},
    ),
    AlertKind(REPORTING_SYMPTOMS, _("Symptoms declared by an organisation"), Severity.WARNING),
    AlertKind(
        REPORTING_TRAVEL,
        _("Travel from a risk area declared"),
        Severity.WARNING,
        # [{"name": "某某区", "from": "2026-11-20", "until": "2026-12-05"}]: a member who was
        # there while it was at risk (the 14 days before the declaration overlap the dates).
        {"areas": []},
    ),
    AlertKind(REPORTING_CONTACT, _("Contact with a confirmed case declared"), Severity.CRITICAL),
    AlertKind(
        REPORTING_CLUSTER,
        _("Fever cluster in an organisation"),
        Severity.CRITICAL,
        {"members": 3, "days": 3},
    ),
)
