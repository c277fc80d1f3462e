"""Checkpoints and cameras, as the operations centre sets them up (the admin, the demo)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.permissions import Actor, require, require_area
from shouwang.patrol.models import (
    Camera,
    CameraAuth,
    Checkpoint,
    CheckpointKind,
    SnapshotSource,
)
from shouwang.patrol.perms import MANAGE_CAMERAS


@dataclass
class CameraData:
    name: str
    source: str = SnapshotSource.HTTP
    snapshot_url: str = ""
    auth: str = CameraAuth.DIGEST
    username: str = ""
    password: str = ""
    live_url: str = ""


def add_checkpoint(
    actor: Actor, area: Area, name: str, kind: str = CheckpointKind.GATE
) -> Checkpoint:
    require(actor, MANAGE_CAMERAS)
    require_area(actor, area.path)
    name = " ".join(name.split())[:100]
    if not name:
        raise ValidationError({"name": [_("Name the checkpoint.")]})
    if kind not in CheckpointKind.values:
        raise ValidationError({"kind": [_("Unknown kind of checkpoint.")]})
    with transaction.atomic():
        checkpoint = Checkpoint.objects.create(area=area, name=name, kind=kind)
        audit.record("patrol.checkpoint_add", actor=actor, target=checkpoint, area=area)
    return checkpoint


def add_camera(actor: Actor, checkpoint: Checkpoint, data: CameraData) -> Camera:
    require(actor, MANAGE_CAMERAS)
    require_area(actor, checkpoint.area.path)
    camera = Camera(
        checkpoint=checkpoint,
        name=" ".join(data.name.split())[:100],
        source=data.source,
        snapshot_url=data.snapshot_url.strip() or None,
        auth=data.auth,
        username=data.username or None,
        password=data.password or None,
        live_url=data.live_url.strip(),
    )
    camera.full_clean(exclude=["snapshot_url", "username", "password"])
    url = camera.snapshot_url or ""
    if camera.source == SnapshotSource.HTTP and not url.lower().startswith(("http://", "https://")):
        raise ValidationError({"snapshot_url": [_("The snapshot URL must start with http://.")]})
    with transaction.atomic():
        camera.save()
        # The audit entry names the camera, never its URL or credentials.
        audit.record(
            "patrol.camera_add",
            actor=actor,
            target=camera,
            area=checkpoint.area,
            details={"source": camera.source, "auth": camera.auth},
        )
    return camera
