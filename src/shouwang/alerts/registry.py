"""The rules other apps hand to the alerts engine, typed by the protocols below.

- `register_ingest_rule(rule)`: `rule(result)` runs on every stored batch of device events,
  inside the ingest transaction (`alerts.evaluate.on_ingest`), and returns its triggers; the
  engine raises them with device health's.
- `register_timer_rule(name, rule)`: `rule(now)` runs every minute from
  `alerts.tasks.check_alert_timers` and raises its own alerts.

Registered today, both from `quarantine/alert_kinds.py`: the door rule
(`door_open_triggers`) and the care watch's `check_care_inactivity`. A second registration
raises; `tests/alerts/test_alert_kinds.py` keeps this list true.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from shouwang.alerts.models import Alert
    from shouwang.alerts.services.alerting import Trigger
    from shouwang.devices.services.ingest import IngestResult


class IngestRule(Protocol):
    """What should alert in one stored batch of device events (no alert raised yet: the
    engine raises every rule's triggers together, in the ingest transaction)."""

    def __call__(self, result: IngestResult, /) -> list[Trigger]: ...


class TimerRule(Protocol):
    """A check of time passing, run every minute; raises its own alerts and returns them.
    Derives everything from the database, so running it twice changes nothing."""

    def __call__(self, now: datetime, /) -> list[Alert]: ...


INGEST_RULES: dict[str, IngestRule] = {}
TIMER_RULES: dict[str, TimerRule] = {}


def _named(rule: object) -> str:
    return f"{getattr(rule, '__module__', '?')}.{getattr(rule, '__qualname__', rule)}"


def register_ingest_rule(rule: IngestRule) -> IngestRule:
    name = _named(rule)
    if name in INGEST_RULES:
        raise ImproperlyConfigured(f"ingest rule {name} is registered twice")
    INGEST_RULES[name] = rule
    return rule


def register_timer_rule(name: str, rule: TimerRule) -> TimerRule:
    if name in TIMER_RULES:
        raise ImproperlyConfigured(f"timer rule {name} is registered twice")
    TIMER_RULES[name] = rule
    return rule
