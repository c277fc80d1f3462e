"""Snapshots: fetched from a camera's HTTP snapshot URL (basic or digest auth), or uploaded for
a camera Shouwang cannot reach; kept with their time, newest first, the oldest dropped.

The network is never touched inside a transaction: `grab` (pure I/O, no database) asks the
camera, `record` writes what came back (a snapshot and the camera online, or the camera
offline with the reason). `refresh` does both for many cameras at once: the requests run in a
thread pool (a round's cameras are fresh within seconds even with some slow or dead), the
writes in one transaction. A camera that cannot be reached is marked offline with a reason,
never an error page.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from shouwang.core import audit
from shouwang.core.permissions import Actor, require, require_area
from shouwang.patrol.models import (
    Camera,
    CameraAuth,
    CameraStatus,
    FetchError,
    Snapshot,
    SnapshotSource,
)
from shouwang.patrol.perms import USE_CAMERAS

CONNECT_TIMEOUT = 2.0
# The whole answer, not each read: a camera trickling bytes is as dead as a silent one.
ANSWER_TIMEOUT = 4.0
MAX_IMAGE_BYTES = 8 * 1024 * 1024
# Per camera; snapshots that are evidence of a finding are kept whatever their age.
KEEP_SNAPSHOTS = 200
POOL_SIZE = 32

_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def image_type(content: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    return None


@dataclass(frozen=True)
class Grab:
    """What one camera answered: an image, or why not."""

    camera_id: int
    content: bytes = b""
    content_type: str = ""
    error: str = ""
    detail: str = ""
    at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.error


def _auth(camera: Camera) -> AuthBase | None:
    user, password = camera.username or "", camera.password or ""
    if camera.auth == CameraAuth.BASIC:
        return HTTPBasicAuth(user, password)
    if camera.auth == CameraAuth.DIGEST:
        return HTTPDigestAuth(user, password)
    return None


def grab(camera: Camera) -> Grab:
    """Ask one camera for a snapshot. No database; never raises for what a camera does."""
    if not camera.snapshot_url:
        return Grab(camera.pk, error=FetchError.NO_URL)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    session = requests.Session()
    # Cameras sit on the operator's network: no proxy from the environment, no redirects.
    session.trust_env = False
    try:
        with session.get(
            camera.snapshot_url,
            auth=_auth(camera),
            timeout=(CONNECT_TIMEOUT, ANSWER_TIMEOUT),
            stream=True,
            allow_redirects=False,
            headers={"Accept": "image/jpeg, image/png"},
        ) as answer:
            if answer.status_code in (401, 403):
                return Grab(camera.pk, error=FetchError.REFUSED, detail=str(answer.status_code))
            if answer.status_code != 200:
                return Grab(camera.pk, error=FetchError.HTTP, detail=str(answer.status_code))
            body = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_IMAGE_BYTES:
                    return Grab(camera.pk, error=FetchError.TOO_LARGE)
                if time.monotonic() > deadline:
                    return Grab(camera.pk, error=FetchError.TIMEOUT)
    except requests.Timeout:
        return Grab(camera.pk, error=FetchError.TIMEOUT)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return Grab(camera.pk, error=FetchError.UNREACHABLE)
    except requests.RequestException as exc:
        return Grab(camera.pk, error=FetchError.UNREACHABLE, detail=type(exc).__name__[:100])
    finally:
        session.close()
    content = bytes(body)
    kind = image_type(content)
    if kind is None:
        return Grab(camera.pk, error=FetchError.NOT_IMAGE)
    return Grab(camera.pk, content=content, content_type=kind, at=timezone.now())


def record(grabs: Sequence[Grab], actor: Actor = None) -> dict[int, Snapshot | None]:
    """Write what the cameras answered, in one transaction: a snapshot per image, each
    camera's status (its `status_since` moves only when the status changes), the oldest
    snapshots beyond `KEEP_SNAPSHOTS` dropped (never a finding's evidence)."""
    now = timezone.now()
    taken: dict[int, Snapshot | None] = {}
    with transaction.atomic():
        for g in grabs:
            status = CameraStatus.ONLINE if g.ok else CameraStatus.OFFLINE
            Camera.objects.filter(pk=g.camera_id).update(
                status=status,
                status_since=Case(
                    When(~Q(status=status) | Q(status_since__isnull=True), then=Value(now)),
                    default=F("status_since"),
                ),
                checked_at=now,
                last_error=g.error,
                last_error_detail=g.detail,
            )
            taken[g.camera_id] = _store(g, SnapshotSource.HTTP, actor) if g.ok else None
        for camera_id in {g.camera_id for g in grabs if g.ok}:
            prune(camera_id)
    return taken


def _store(g: Grab, source: str, actor: Actor) -> Snapshot:
    return Snapshot.objects.create(
        camera_id=g.camera_id,
        taken_at=g.at or timezone.now(),
        source=source,
        taken_by=actor if actor is not None and actor.pk else None,
        content_type=g.content_type,
        size=len(g.content),
        sha256=hashlib.sha256(g.content).hexdigest(),
        sealed=Snapshot.seal(g.content),
    )


def prune(camera_id: int, keep: int | None = None) -> int:
    keep = KEEP_SNAPSHOTS if keep is None else keep
    newest = (
        Snapshot.objects.filter(camera_id=camera_id)
        .order_by("-taken_at", "-pk")
        .values_list("pk", flat=True)[:keep]
    )
    old = Snapshot.objects.filter(
        camera_id=camera_id, evidence_for__isnull=True, rechecks__isnull=True
    ).exclude(pk__in=list(newest))
    deleted, _rows = old.delete()
    return deleted


def refresh(actor: Actor, cameras: Sequence[Camera]) -> dict[int, Snapshot | None]:
    """Fresh snapshots from many cameras at once (a round's, the schedule's). Cameras whose
    source is an upload are left alone. Returns camera id → its new snapshot, or None."""
    if actor is not None:
        require(actor, USE_CAMERAS)
        for camera in cameras:
            require_area(actor, camera.checkpoint.area.path)
    reachable = [c for c in cameras if c.source == SnapshotSource.HTTP and c.active]
    if not reachable:
        return {}
    with ThreadPoolExecutor(min(POOL_SIZE, len(reachable))) as pool:
        grabs = list(pool.map(grab, reachable))
    return record(grabs, actor)


def fetch_now(actor: Actor, camera: Camera) -> Snapshot | None:
    """The operator asks one camera now: its snapshot, or None with the camera marked offline
    (its `last_error` says why)."""
    if camera.source != SnapshotSource.HTTP:
        raise ValidationError(_("This camera's snapshots are uploaded, not fetched."))
    taken = refresh(actor, [camera])
    camera.refresh_from_db()
    return taken.get(camera.pk)


def upload(actor: Actor, camera: Camera, content: bytes) -> Snapshot:
    """An image of a camera Shouwang cannot reach (or a phone's photo of the gate): checked to
    be a whole JPEG or PNG before it is kept."""
    require(actor, USE_CAMERAS)
    require_area(actor, camera.checkpoint.area.path)
    if len(content) > MAX_IMAGE_BYTES:
        raise ValidationError(
            _("The image is larger than %(mb)d MB.") % {"mb": MAX_IMAGE_BYTES // 1024 // 1024}
        )
    kind = image_type(content)
    if kind is None or not whole_image(content):
        raise ValidationError(_("This file is not a JPEG or PNG image."))
    now = timezone.now()
    with transaction.atomic():
        snapshot = _store(
            Grab(camera.pk, content=content, content_type=kind, at=now),
            SnapshotSource.UPLOAD,
            actor,
        )
        Camera.objects.filter(pk=camera.pk).update(checked_at=now)
        audit.record(
            "patrol.snapshot_upload",
            actor=actor,
            target=snapshot,
            area=camera.checkpoint.area,
            details={"camera": camera.pk, "size": len(content)},
        )
        prune(camera.pk)
    return snapshot


def whole_image(content: bytes) -> bool:
    """Decoded to the last pixel: a truncated upload is refused, not kept half grey. Pillow's
    decompression-bomb limit refuses absurd dimensions before decoding."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format not in {"JPEG", "PNG"}:
                return False
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return False
    return True
