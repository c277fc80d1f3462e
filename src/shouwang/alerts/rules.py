"""Alert kinds' settings, and the rules the engine runs for other apps.

Each app declares its own alert kinds, with their default severity and settings, in its own
`alert_kinds.py` (`core.kinds.declare`), found at start-up by `AlertsConfig.ready` through
Django's `autodiscover_modules("alert_kinds")`:

- `devices/alert_kinds.py`: sensor offline, tampered, battery low, door held open;
- `quarantine/alert_kinds.py`: door opened during quarantine, fever, missed health check,
  care-watch inactivity, and a case's settings; it also registers the two rules that read
  its `Watch` (the door rule on ingest, the inactivity timer);
- `passes/alert_kinds.py`: a quarantined resident at the gate;
- `alerts/alert_kinds.py`: escalation timing, unusual access to personal data.

A rule that needs another app's data registers in `alerts.registry`: `register_ingest_rule`
(runs on every stored batch of device events, inside the ingest transaction) or
`register_timer_rule` (runs every minute from `alerts.tasks.check_alert_timers`). Twice is an
error.
`tests/alerts/test_alert_kinds.py` fails when a kind or rule is missing or registered twice.

Settings are inherited down the area tree and can be overridden per household and per person:
the most specific `RuleSetting` wins, then the nearest area above, then the kind's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shouwang.alerts.models import RuleSetting
from shouwang.core.kinds import KINDS, AlertKind, Severity

__all__ = ["KINDS", "AlertKind", "RuleBook"]


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
        rule = KINDS[kind]
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
