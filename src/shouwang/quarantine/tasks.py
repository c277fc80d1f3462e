"""Periodic quarantine checks. Each is idempotent and derives everything from the database."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.quarantine.services import health, retention


@db_periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]
def check_missed_health_checks() -> int:
    return len(health.check_missed())


@db_periodic_task(crontab(minute="17", hour="3"))  # type: ignore[untyped-decorator]
def purge_closed_cases() -> int:
    """Nightly: anonymise cases closed longer ago than their area's retention period."""
    return retention.purge_expired()
