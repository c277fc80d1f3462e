"""The patrol's periodic work. Idempotent; reads the database afresh."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from shouwang.patrol.models import Camera, SnapshotSource
from shouwang.patrol.services import snapshots


@db_periodic_task(crontab(minute="*/10"))  # type: ignore[untyped-decorator]
def fetch_scheduled_snapshots() -> dict[str, int]:
    """Every ten minutes, a snapshot from every camera Shouwang can reach: the newest image is
    never older than that, and a dead camera shows as offline before a round reaches it."""
    cameras = list(
        Camera.objects.filter(active=True, source=SnapshotSource.HTTP, checkpoint__active=True)
    )
    taken = snapshots.refresh(None, cameras)
    return {
        "cameras": len(cameras),
        "taken": sum(1 for s in taken.values() if s),
        "offline": sum(1 for s in taken.values() if s is None),
    }
