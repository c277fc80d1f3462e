"""Upload → check → preview → confirm → import, with large files read by a task.

A small file is checked while the upload request waits. A large one is checked by a task
(`check_roster_upload`, a task), which writes how many rows it has read so the page can
show progress; confirming a large file imports it in a task too. Each step is idempotent: a
task that runs twice, or after the upload was cancelled, finds the status moved on and does
nothing. The file is kept encrypted only until it is imported, refused or cancelled (and at
most `KEEP_HOURS`); the report stored with the upload holds masked values only.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from shouwang.core import audit, crypto
from shouwang.core.models import Area, RosterUpload, UploadStatus
from shouwang.core.services import roster

log = logging.getLogger(__name__)

# Files up to this size are checked within the request: a few thousand rows, about a second.
INLINE_BYTES = 256 * 1024
KEEP_HOURS = 24
_CONTEXT = "core_rosterupload.content"


def _seal(data: bytes) -> bytes:
    return crypto.encrypt_bytes(data, _CONTEXT)


def _content(upload: RosterUpload) -> bytes:
    if upload.content is None:
        raise ValidationError(_("The uploaded file is no longer kept: upload it again."))
    return crypto.decrypt_bytes(bytes(upload.content), _CONTEXT)


def purge_stale(now: Any = None) -> int:
    """Forget the files of uploads left unconfirmed for more than KEEP_HOURS."""
    cutoff = (now or timezone.now()) - timedelta(hours=KEEP_HOURS)
    return (
        RosterUpload.objects.filter(created_at__lt=cutoff, content__isnull=False)
        .exclude(status=UploadStatus.IMPORTING)
        .update(content=None, status=UploadStatus.CANCELLED, finished_at=timezone.now())
    )


def stage(actor: Any, area: Area, file_name: str, data: bytes) -> RosterUpload:
    """Keep the file (encrypted) and check it now, or queue the check when it is large."""
    roster.check_target(actor, area)
    if len(data) > settings.MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.") % {"mb": settings.MAX_UPLOAD_MB}
        )
    purge_stale()
    upload = RosterUpload.objects.create(
        actor=actor,
        area=area,
        file_name=file_name[:200],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=_seal(data),
    )
    if len(data) <= INLINE_BYTES:
        check(upload.pk)
        upload.refresh_from_db()
    else:
        transaction.on_commit(lambda: check_roster_upload(upload.pk))
    return upload


def _claim(upload_id: int, before: str, after: str) -> RosterUpload | None:
    """Move an upload from one status to the next, once: a repeated task finds nothing."""
    moved = RosterUpload.objects.filter(pk=upload_id, status=before).update(status=after)
    if not moved:
        return None
    return RosterUpload.objects.select_related("actor", "area").get(pk=upload_id)


def _progress(upload_id: int) -> Any:
    def report(rows: int) -> None:
        RosterUpload.objects.filter(pk=upload_id).update(rows_read=rows)

    return report


def _finish(upload: RosterUpload, status: str, report: roster.ImportReport) -> None:
    upload.status = status
    upload.report = report.as_dict()
    upload.rows_read = max(upload.rows_read, report.rows)
    upload.finished_at = timezone.now()
    if status != UploadStatus.READY:
        upload.content = None
    upload.save(update_fields=["status", "report", "rows_read", "finished_at", "content"])


def _fail(upload: RosterUpload, exc: Exception) -> None:
    log.exception("roster upload %s failed", upload.pk)
    report = roster.ImportReport(file_name=upload.file_name)
    reason = exc.messages[0] if isinstance(exc, ValidationError) else _("Unexpected error.")
    report.errors.append(roster.RowError(0, "", reason))
    _finish(upload, UploadStatus.FAILED, report)


def check(upload_id: int) -> None:
    """Read and check the file and plan the import: the preview. Writes no residents."""
    upload = _claim(upload_id, UploadStatus.QUEUED, UploadStatus.READING)
    if upload is None:
        return
    try:
        report, _planned = roster.check_file(
            upload.actor, upload.area, upload.file_name, _content(upload), _progress(upload.pk)
        )
    except (ValidationError, PermissionDenied, LookupError, ValueError) as exc:
        _fail(upload, exc)
        return
    _finish(upload, UploadStatus.READY if report.ok else UploadStatus.REFUSED, report)


def confirm(actor: Any, upload: RosterUpload) -> None:
    """The uploader confirms the preview: import now, or queue the import when it is large."""
    if upload.actor_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who uploaded the file can import it."))
    if _claim(upload.pk, UploadStatus.READY, UploadStatus.IMPORTING) is None:
        raise ValidationError(_("This file is not waiting for confirmation."))
    if upload.size <= INLINE_BYTES:
        apply(upload.pk)
    else:
        transaction.on_commit(lambda: import_roster_upload(upload.pk))


def cancel(actor: Any, upload: RosterUpload) -> None:
    if upload.actor_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who uploaded the file can cancel it."))
    RosterUpload.objects.filter(
        pk=upload.pk, status__in=[UploadStatus.QUEUED, UploadStatus.READY]
    ).update(status=UploadStatus.CANCELLED, content=None, finished_at=timezone.now())


def apply(upload_id: int) -> None:
    upload = RosterUpload.objects.select_related("actor", "area").get(pk=upload_id)
    if upload.status != UploadStatus.IMPORTING or upload.content is None:
        return
    try:
        report = roster.import_roster(
            upload.actor, upload.area, upload.file_name, _content(upload), _progress(upload.pk)
        )
    except (ValidationError, PermissionDenied, LookupError, ValueError) as exc:
        _fail(upload, exc)
        return
    # Refused now although the preview was clean: the database moved on in between.
    _finish(upload, UploadStatus.DONE if report.ok else UploadStatus.REFUSED, report)


# The queued halves of `check` and `apply` for large files. Defined here, beside the work, so
# that this module and `core.tasks` (which Huey's consumer imports) do not import each other.
@db_task(retries=0)  # type: ignore[untyped-decorator]
def check_roster_upload(upload_id: int) -> None:
    with audit.origin("task"):
        check(upload_id)


@db_task(retries=0)  # type: ignore[untyped-decorator]
def import_roster_upload(upload_id: int) -> None:
    with audit.origin("task"):
        apply(upload_id)
