"""Uploaded lists waiting to be checked, previewed and imported (rosters today)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shouwang.core.scoping import ScopedQuerySet


class UploadStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to be read")
    READING = "reading", _("being read")
    READY = "ready", _("checked, waiting for confirmation")
    REFUSED = "refused", _("refused")
    IMPORTING = "importing", _("being imported")
    DONE = "done", _("imported")
    CANCELLED = "cancelled", _("cancelled")
    FAILED = "failed", _("failed")


class RosterUpload(models.Model):
    """One uploaded file, from the upload through the preview to the import.

    The file itself is kept encrypted (`content`) only until it is imported, refused or
    cancelled, and at most a day; the report holds masked values only.
    """

    scope_path = "area__path"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, default="residents")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE
    )
    area = models.ForeignKey("core.Area", verbose_name=_("area"), on_delete=models.CASCADE)
    file_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField(null=True, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=UploadStatus.choices, default=UploadStatus.QUEUED
    )
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedQuerySet["RosterUpload"].as_manager()

    class Meta:
        verbose_name = _("roster upload")
        verbose_name_plural = _("roster uploads")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name
