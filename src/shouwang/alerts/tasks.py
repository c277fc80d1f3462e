"""Periodic alert checks, every minute. Each is idempotent and reads only the database."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.alerts import privacy, timers


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def check_alert_timers() -> dict[str, int]:
    return {
        "door_held_open": len(timers.check_door_held_open()),
        "care_inactivity": len(timers.check_care_inactivity()),
        "escalated_or_reminded": timers.escalate_and_remind(),
    }


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def send_due_notifications() -> dict[str, int]:
    """Every minute: deliveries that are due and that no process is sending (retries whose
    process restarted, what a crashed sender left behind). The first attempt never waits for
    this: it starts on commit (see notify.sender)."""
    from shouwang.alerts.notify import sender

    return sender.run_due().as_dict()


@db_periodic_task(crontab(minute="*/10"))  # type: ignore[untyped-decorator]
def check_unusual_data_access() -> dict[str, int]:
    return {"flagged": len(privacy.check_unusual_access())}
