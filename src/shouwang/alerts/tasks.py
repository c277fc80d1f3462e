"""Periodic alert checks, every minute. Each is idempotent and reads only the database."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.alerts import privacy, registry, timers


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def check_alert_timers() -> dict[str, int]:
    now = timezone.now()
    counts = {"door_held_open": len(timers.check_door_held_open(now))}
    for name, rule in registry.TIMER_RULES.items():
        counts[name] = len(rule(now))
    counts["escalated_or_reminded"] = timers.escalate_and_remind(now)
    return counts


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
