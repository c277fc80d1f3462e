"""Checkpoints, their cameras, and the snapshots the cameras gave.

A checkpoint (出入口/门岗) belongs to an area (a compound, or a village road's community); the
community above it is the one a rectification order goes to. A camera's snapshot source is an
HTTP snapshot URL (Hikvision/Dahua/ONVIF devices and NVRs, basic or digest auth) or, for a
camera Shouwang cannot reach, an uploaded image; its live-view link opens the operator's own
video platform (go2rtc, Frigate, an NVR page): Shouwang does not transcode video.

The snapshot URL and the credentials are secrets: encrypted at rest (`EncryptedTextField`),
never shown back in full. Snapshot images show people at a gate: kept encrypted too
(`crypto.encrypt_bytes`, the table and column as associated data), served only through a
scoped view with `Cache-Control: no-store`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.core import crypto
from shouwang.core.fields import EncryptedTextField
from shouwang.core.scoping import ScopedQuerySet

IMAGE_CONTEXT = "patrol_snapshot.image"


class CheckpointKind(models.TextChoices):
    GATE = "gate", _("Entrance")
    POST = "post", _("Guard post")
    ROAD = "road", _("Village road")


class Checkpoint(models.Model):
    scope_path = "area__path"

    area = models.ForeignKey(
        "core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="checkpoints"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CheckpointKind.choices, default=CheckpointKind.GATE
    )
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ScopedQuerySet["Checkpoint"].as_manager()

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        ordering = ["area__path", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="patrol_checkpoint_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class SnapshotSource(models.TextChoices):
    HTTP = "http", _("Snapshot URL")
    UPLOAD = "upload", _("Uploaded image")


class CameraAuth(models.TextChoices):
    NONE = "none", _("No login")
    BASIC = "basic", _("Basic")
    DIGEST = "digest", _("Digest")


class CameraStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked yet")
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")


class FetchError(models.TextChoices):
    """Why a camera gave no snapshot, as the operator reads it (the detail, an HTTP status
    say, is kept beside it; never a credential)."""

    UNREACHABLE = "unreachable", _("Cannot be reached")
    TIMEOUT = "timeout", _("No answer in time")
    REFUSED = "refused", _("Refused the login")
    HTTP = "http", _("Answered with an error")
    NOT_IMAGE = "not_image", _("Did not answer with an image")
    TOO_LARGE = "too_large", _("Image too large")
    NO_URL = "no_url", _("No snapshot URL")


def _live_url_validator(value: str) -> None:
    URLValidator(schemes=["http", "https"])(value)


class Camera(models.Model):
    scope_path = "checkpoint__area__path"

    checkpoint = models.ForeignKey(
        Checkpoint, verbose_name=_("checkpoint"), on_delete=models.PROTECT, related_name="cameras"
    )
    name = models.CharField(_("name"), max_length=100)
    source = models.CharField(
        _("snapshot source"),
        max_length=10,
        choices=SnapshotSource.choices,
        default=SnapshotSource.HTTP,
    )
    # Secrets (the URL may carry a token in its query): encrypted, shown masked.
    snapshot_url = EncryptedTextField(_("snapshot URL"))
    auth = models.CharField(
        _("login"), max_length=10, choices=CameraAuth.choices, default=CameraAuth.DIGEST
    )
    username = EncryptedTextField(_("user name"))
    password = EncryptedTextField(_("password"))
    live_url = models.CharField(
        _("live view link"), max_length=500, blank=True, validators=[_live_url_validator]
    )
    active = models.BooleanField(_("in use"), default=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CameraStatus.choices, default=CameraStatus.UNKNOWN
    )
    status_since = models.DateTimeField(_("status since"), null=True, blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_error = models.CharField(
        _("last error"), max_length=20, choices=FetchError.choices, blank=True
    )
    last_error_detail = models.CharField(_("error detail"), max_length=100, blank=True)

    objects = ScopedQuerySet["Camera"].as_manager()

    class Meta:
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")
        ordering = ["checkpoint_id", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_url(self) -> str:
        """Scheme and host only: enough to tell cameras apart, nothing to log in with."""
        if not self.snapshot_url:
            return ""
        parts = urlsplit(self.snapshot_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}/…"

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password)


class Snapshot(models.Model):
    scope_path = "camera__checkpoint__area__path"

    camera = models.ForeignKey(
        Camera, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="snapshots"
    )
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)
    source = models.CharField(_("source"), max_length=10, choices=SnapshotSource.choices)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # AES-GCM, "<version>$" + nonce + ciphertext (crypto.encrypt_bytes): never read in lists
    # (`.defer("sealed")`).
    sealed = models.BinaryField(_("image (encrypted)"))

    objects = ScopedQuerySet["Snapshot"].as_manager()

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["camera", "-taken_at"], name="patrol_snap_camera_time")]

    def __str__(self) -> str:
        return f"{self.camera_id}@{self.taken_at:%Y-%m-%d %H:%M:%S}"

    def image(self) -> bytes:
        return crypto.decrypt_bytes(bytes(self.sealed), IMAGE_CONTEXT)

    @staticmethod
    def seal(content: bytes) -> bytes:
        return crypto.encrypt_bytes(content, IMAGE_CONTEXT)
