"""Periodic device checks. Derived from the database each run, so a restart loses no timer."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.devices.services.ingest import mark_offline


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def check_offline_devices() -> int:
    """Every minute: installed devices silent past their timeout are marked offline."""
    return len(mark_offline())
