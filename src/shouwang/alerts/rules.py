"""Alert kinds and their settings.

Each kind is declared once here with its default severity and parameters. Other apps add
their own kinds (fever, plate watch list, patrol finding…) with `register`, and raise alerts
through `services.alerting.raise_alert`; nothing else needs to know about them.

Settings are inherited down the area tree and can be overridden per household and per person:
the most specific `RuleSetting` wins, then the nearest area above, then the defaults below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from shouwang.alerts.models import RuleSetting, Severity

QUARANTINE_DOOR_OPEN = "quarantine_door_open"
DOOR_HELD_OPEN = "door_held_open"
CARE_INACTIVITY = "care_inactivity"
DEVICE_OFFLINE = "device_offline"
DEVICE_TAMPER = "device_tamper"
BATTERY_LOW = "battery_low"
# Not an alert kind: when and how often unacknowledged alerts climb the tree.
ESCALATION = "escalation"


@dataclass(frozen=True)
class Rule:
    kind: str
    label: str | Promise
    severity: Severity
    params: dict[str, Any] = field(default_factory=dict)
    # Settings inherited down the tree like a rule's, but never an alert kind of its own
    # (escalation timing, a quarantine case's default length): kept out of kind pickers.
    settings_only: bool = False


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    RULES[rule.kind] = rule
    return rule


register(Rule(QUARANTINE_DOOR_OPEN, _("Door opened during home quarantine"), Severity.CRITICAL))
register(Rule(DOOR_HELD_OPEN, _("Door held open"), Severity.WARNING, {"minutes": 10}))
register(
    Rule(
        CARE_INACTIVITY,
        _("Door not opened for a long time"),
        Severity.CRITICAL,
        {"inactive_hours": 12, "active_from": "07:00", "active_until": "21:00"},
    )
)
register(Rule(DEVICE_OFFLINE, _("Door sensor offline"), Severity.WARNING))
register(Rule(DEVICE_TAMPER, _("Door sensor tampered or removed"), Severity.CRITICAL))
register(Rule(BATTERY_LOW, _("Door sensor battery low"), Severity.INFO))
register(
    Rule(
        ESCALATION,
        _("Escalation"),
        Severity.INFO,
        {"ack_minutes": 5, "remind_minutes": 15, "max_level": 2},
        settings_only=True,
    )
)


@dataclass(frozen=True)
class Effective:
    enabled: bool
    severity: Severity
    params: dict[str, Any]


class RuleBook:
    """All settings of some kinds, loaded in one query, resolved without further queries."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.by_area: dict[tuple[str, int], RuleSetting] = {}
        self.by_household: dict[tuple[str, int], RuleSetting] = {}
        self.by_person: dict[tuple[str, int], RuleSetting] = {}
        self.area_paths: dict[str, int] = {}
        for setting in RuleSetting.objects.filter(kind__in=set(kinds)).select_related("area"):
            if setting.area is not None:
                self.by_area[(setting.kind, setting.area.pk)] = setting
                self.area_paths[f"{setting.kind}:{setting.area.path}"] = setting.area.pk
            elif setting.household_id is not None:
                self.by_household[(setting.kind, setting.household_id)] = setting
            elif setting.person_id is not None:
                self.by_person[(setting.kind, setting.person_id)] = setting

    def resolve(
        self,
        kind: str,
        area_path: str = "",
        household_id: int | None = None,
        person_id: int | None = None,
    ) -> Effective:
        rule = RULES[kind]
        chain: list[RuleSetting] = []  # most general first
        step = 4  # treebeard's path step
        for end in range(step, len(area_path) + 1, step):
            area_id = self.area_paths.get(f"{kind}:{area_path[:end]}")
            if area_id is not None:
                chain.append(self.by_area[(kind, area_id)])
        if household_id is not None and (kind, household_id) in self.by_household:
            chain.append(self.by_household[(kind, household_id)])
        if person_id is not None and (kind, person_id) in self.by_person:
            chain.append(self.by_person[(kind, person_id)])
        enabled, severity, params = True, rule.severity, dict(rule.params)
        for setting in chain:
            enabled = setting.enabled
            if setting.severity:
                severity = Severity(setting.severity)
            params.update(setting.params)
        return Effective(enabled, severity, params)
