"""Core's tasks: reading and importing large roster files outside the web request."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from shouwang.core import audit


@db_task(retries=0)  # type: ignore[untyped-decorator]
def check_roster_upload(upload_id: int) -> None:
    from shouwang.core.services import roster_uploads

    with audit.origin("task"):
        roster_uploads.check(upload_id)


@db_task(retries=0)  # type: ignore[untyped-decorator]
def import_roster_upload(upload_id: int) -> None:
    from shouwang.core.services import roster_uploads

    with audit.origin("task"):
        roster_uploads.apply(upload_id)
