"""Each app declares its own alert kinds in its own alert_kinds.py, found at start-up; the
engine knows every kind and rule once, and refuses a second declaration."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from shouwang.alerts import registry
from shouwang.core.kinds import KINDS, AlertKind, Severity, declare

# Who declares what: a kind declared by the wrong app, or missing, fails here.
DECLARED_BY = {
    "shouwang.devices.alert_kinds": {
        "door_held_open",
        "device_offline",
        "device_tamper",
        "battery_low",
        "ingest_session_lost",
    },
    "shouwang.quarantine.alert_kinds": {
        "quarantine_door_open",
        "care_inactivity",
        "health_check_missed",
        "fever",
        "quarantine_case",
    },
    "shouwang.passes.alert_kinds": {"quarantine_gate_denied"},
    "shouwang.patrol.alert_kinds": {
        "patrol_rectification",
        "patrol_rectification_overdue",
        "patrol_settings",
    },
    "shouwang.reporting.alert_kinds": {
        "reporting_fever",
        "reporting_symptoms",
        "reporting_travel",
        "reporting_contact",
        "reporting_cluster",
    },
    "shouwang.alerts.alert_kinds": {"escalation", "unusual_data_access"},
}


def test_every_app_declares_its_own_kinds() -> None:
    import importlib

    for module_name, kinds in DECLARED_BY.items():
        module = importlib.import_module(module_name)
        constants = {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}
        assert kinds <= constants, module_name
    assert set(KINDS) == set().union(*DECLARED_BY.values())


def test_rules_that_read_other_apps_are_registered_once() -> None:
    assert sorted(registry.INGEST_RULES) == ["shouwang.quarantine.alert_kinds.door_open_triggers"]
    assert sorted(registry.TIMER_RULES) == ["care_inactivity", "patrol_overdue"]
    # Discovery again (a second ready(), a test runner) does not register anything twice.
    autodiscover_modules("alert_kinds")
    assert len(registry.INGEST_RULES) == 1
    assert len(KINDS) == sum(len(k) for k in DECLARED_BY.values())


def test_a_second_declaration_or_registration_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="declared twice"):
        declare(AlertKind("fever", "again", Severity.INFO))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register_ingest_rule(registry.INGEST_RULES[next(iter(registry.INGEST_RULES))])

    def rule(now: datetime, /) -> list[object]:
        return []

    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register_timer_rule("care_inactivity", rule)  # type: ignore[arg-type]
    assert str(KINDS["fever"].label) != "again"
