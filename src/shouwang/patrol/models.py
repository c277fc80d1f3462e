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

from datetime import datetime
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


DEFAULT_WINDOWS = [["08:00", "10:00"], ["13:00", "15:00"], ["19:00", "21:00"]]


def default_windows() -> list[list[str]]:
    return [list(w) for w in DEFAULT_WINDOWS]


class PatrolPlan(models.Model):
    """A town's video rounds: its daily time windows and the checkpoints walked in each round
    (none chosen: every checkpoint in the town that has a camera)."""

    scope_path = "area__path"

    area = models.OneToOneField(
        "core.Area", verbose_name=_("town"), on_delete=models.PROTECT, related_name="patrol_plan"
    )
    windows = models.JSONField(_("time windows"), default=default_windows)
    checkpoints = models.ManyToManyField(
        Checkpoint, verbose_name=_("checkpoints"), blank=True, related_name="plans"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ScopedQuerySet["PatrolPlan"].as_manager()

    class Meta:
        verbose_name = _("patrol plan")
        verbose_name_plural = _("patrol plans")

    def __str__(self) -> str:
        return str(self.area)


class RoundState(models.TextChoices):
    UPCOMING = "upcoming", _("Not yet")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    LATE = "late", _("Finished late")
    UNFINISHED = "unfinished", _("Not finished in its window")


class Round(models.Model):
    """One window's round on one day: a work list of checkpoints, stepped through one by one."""

    scope_path = "plan__area__path"

    plan = models.ForeignKey(
        PatrolPlan, verbose_name=_("patrol plan"), on_delete=models.PROTECT, related_name="rounds"
    )
    day = models.DateField(_("day"))
    window = models.PositiveSmallIntegerField(_("window"))
    starts_at = models.DateTimeField(_("window starts"))
    ends_at = models.DateTimeField(_("window ends"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    total = models.PositiveIntegerField(_("checkpoints"), default=0)
    checked = models.PositiveIntegerField(_("checked"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ScopedQuerySet["Round"].as_manager()

    class Meta:
        verbose_name = _("patrol round")
        verbose_name_plural = _("patrol rounds")
        ordering = ["-day", "-window"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "day", "window"], name="patrol_round_one_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} #{self.window + 1}"

    def state(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.finished_at is not None:
            return RoundState.DONE if self.finished_at <= self.ends_at else RoundState.LATE
        if now >= self.ends_at:
            return RoundState.UNFINISHED
        if now < self.starts_at:
            return RoundState.UPCOMING
        return RoundState.IN_PROGRESS

    def state_label(self) -> str:
        return str(RoundState(self.state()).label)


class StopResult(models.TextChoices):
    PENDING = "pending", _("Not checked")
    OK = "ok", _("OK")
    FINDING = "finding", _("Finding")


class RoundStop(models.Model):
    round = models.ForeignKey(
        Round, verbose_name=_("patrol round"), on_delete=models.CASCADE, related_name="stops"
    )
    checkpoint = models.ForeignKey(
        Checkpoint, verbose_name=_("checkpoint"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"))
    result = models.CharField(
        _("result"), max_length=10, choices=StopResult.choices, default=StopResult.PENDING
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("round stop")
        verbose_name_plural = _("round stops")
        ordering = ["round_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "checkpoint"], name="patrol_stop_once")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.position}"


class FindingCategory(models.TextChoices):
    CROWDING = "crowding", _("Crowding")
    UNMANNED = "unmanned", _("Post unmanned")
    NOT_CHECKING = "not_checking", _("Passes or temperature not checked")
    NO_MASK = "no_mask", _("No mask")
    OTHER = "other", _("Other")


class FindingSeverity(models.IntegerChoices):
    MINOR = 1, _("Minor")
    SERIOUS = 2, _("Serious")
    GRAVE = 3, _("Grave")


class Finding(models.Model):
    """What the operator saw wrong at a checkpoint, with the snapshot as evidence."""

    scope_path = "checkpoint__area__path"

    checkpoint = models.ForeignKey(
        Checkpoint, verbose_name=_("checkpoint"), on_delete=models.PROTECT, related_name="findings"
    )
    stop = models.ForeignKey(
        RoundStop,
        verbose_name=_("round stop"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
    )
    # A finding of a blind inspection (its checklist) rather than of a round.
    inspection = models.ForeignKey(
        "patrol.Inspection",
        verbose_name=_("blind inspection"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
    )
    category = models.CharField(_("category"), max_length=20, choices=FindingCategory.choices)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=FindingSeverity.choices, default=FindingSeverity.MINOR
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    evidence = models.ForeignKey(
        Snapshot,
        verbose_name=_("evidence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evidence_for",
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("found by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet["Finding"].as_manager()

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-found_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.checkpoint} · {self.get_category_display()}"


class OrderStatus(models.TextChoices):
    OPEN = "open", _("To rectify")
    ANSWERED = "answered", _("Rectified, to re-check")
    CLOSED = "closed", _("Closed after re-check")


PHOTO_CONTEXT = "patrol_rectificationorder.answer_photo"


class RectificationOrder(models.Model):
    """A finding sent to the community responsible for the checkpoint, with a deadline; the
    community answers (a photo and a note), the operator re-checks on video and closes it or
    sends it back."""

    scope_path = "community__path"

    finding = models.OneToOneField(
        Finding, verbose_name=_("finding"), on_delete=models.PROTECT, related_name="order"
    )
    community = models.ForeignKey(
        "core.Area", verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN
    )
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answer_note = models.CharField(_("what was done"), max_length=500, blank=True)
    # AES-GCM like a snapshot (crypto.encrypt_bytes); None: no photo.
    answer_photo = models.BinaryField(_("photo (encrypted)"), null=True, blank=True)
    answer_photo_type = models.CharField(_("photo type"), max_length=40, blank=True)
    recheck = models.ForeignKey(
        Snapshot,
        verbose_name=_("re-check snapshot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rechecks",
    )
    returns = models.PositiveSmallIntegerField(_("sent back"), default=0)
    return_note = models.CharField(_("why it was sent back"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # When the overdue alert was raised (once per order).
    overdue_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet["RectificationOrder"].as_manager()

    class Meta:
        verbose_name = _("rectification order")
        verbose_name_plural = _("rectification orders")
        ordering = ["-issued_at", "-pk"]
        permissions = [
            ("answer_rectificationorder", _("Can answer a rectification order")),
            ("recheck_rectificationorder", _("Can re-check and close a rectification order")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def late(self) -> bool:
        end = self.answered_at or timezone.now()
        return end > self.deadline

    def photo(self) -> bytes:
        if self.answer_photo is None:
            return b""
        return crypto.decrypt_bytes(bytes(self.answer_photo), PHOTO_CONTEXT)


class CheckItem(models.TextChoices):
    """The blind inspection's checklist; a failed item is a finding of that category."""

    STAFFED = "staffed", _("Someone on duty at the post")
    CHECKING = "checking", _("Passes and temperature checked")
    NO_CROWD = "no_crowd", _("No crowding at the gate")
    MASKS = "masks", _("Masks worn")


CHECK_ITEM_CATEGORY = {
    CheckItem.STAFFED: FindingCategory.UNMANNED,
    CheckItem.CHECKING: FindingCategory.NOT_CHECKING,
    CheckItem.NO_CROWD: FindingCategory.CROWDING,
    CheckItem.MASKS: FindingCategory.NO_MASK,
}
INSPECTION_PHOTO_CONTEXT = "patrol_inspection.photo"


class Inspection(models.Model):
    """A blind inspection (单兵盲考): a checkpoint drawn for one inspector on one day, not told
    to the community; done at the site from a phone (checklist, photo, video link, place)."""

    scope_path = "checkpoint__area__path"

    checkpoint = models.ForeignKey(
        Checkpoint, verbose_name=_("checkpoint"), on_delete=models.PROTECT, related_name="+"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    day = models.DateField(_("day"))
    drawn_at = models.DateTimeField(_("drawn"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    checklist = models.JSONField(_("checklist"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    video_link = models.CharField(
        _("video link"), max_length=500, blank=True, validators=[_live_url_validator]
    )
    photo = models.BinaryField(_("photo (encrypted)"), null=True, blank=True)
    photo_type = models.CharField(_("photo type"), max_length=40, blank=True)

    objects = ScopedQuerySet["Inspection"].as_manager()

    class Meta:
        verbose_name = _("blind inspection")
        verbose_name_plural = _("blind inspections")
        ordering = ["-day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "day"], name="patrol_inspection_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.checkpoint} {self.day}"

    def photo_bytes(self) -> bytes:
        if self.photo is None:
            return b""
        return crypto.decrypt_bytes(bytes(self.photo), INSPECTION_PHOTO_CONTEXT)
