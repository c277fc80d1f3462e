"""Periodic mask jobs. Idempotent; everything is derived from the database."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.masks.services import pickup


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def release_no_shows() -> int:
    """Every minute: reservations past their pickup slot go back to stock."""
    return pickup.release_no_shows()
