"""The demo town's video patrol: two checkpoints at every compound, each with a camera whose
snapshots are generated gate images (the demo has no real camera to ask), so the patrol
screens have something to show. Idempotent: a second run adds only what is missing."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from django.utils import timezone

from shouwang.core.demo import TOWN_NAME, DemoTown
from shouwang.core.models import Area, AreaKind
from shouwang.patrol.models import Camera, Checkpoint, CheckpointKind, Snapshot, SnapshotSource
from shouwang.patrol.services import snapshots
from shouwang.patrol.services.setup import CameraData, add_camera, add_checkpoint

GATES = (("东门", CheckpointKind.GATE), ("南门岗亭", CheckpointKind.POST))


def gate_image(label: str, people: int, seed: int) -> bytes:
    """A 640×360 picture of a gate: a road, a barrier, a booth, and some people."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)  # noqa: S311 - where the demo's people stand
    image = Image.new("RGB", (640, 360), (118, 138, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 230, 640, 360), fill=(70, 72, 76))
    draw.rectangle((420, 120, 560, 250), fill=(205, 200, 185), outline=(60, 60, 60))
    draw.rectangle((450, 150, 530, 200), fill=(150, 190, 220))
    draw.rectangle((80, 215, 400, 225), fill=(220, 40, 40))
    for _ in range(people):
        x = rng.randint(60, 600)
        y = rng.randint(235, 320)
        draw.ellipse((x - 7, y - 44, x + 7, y - 30), fill=(235, 200, 170))
        draw.rectangle((x - 9, y - 30, x + 9, y), fill=rng.choice([(40, 60, 140), (140, 40, 40)]))
    draw.text((10, 10), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def demo_part(town: DemoTown) -> None:
    """Registered with `core.demo` in `PatrolConfig.ready()`."""
    seed_demo()


def seed_demo() -> None:
    street = Area.objects.filter(name=TOWN_NAME, kind=AreaKind.STREET).first()
    if street is None:
        return
    compounds = Area.objects.filter(path__startswith=street.path, kind=AreaKind.COMPOUND)
    for number, compound in enumerate(compounds.order_by("path")):
        for name, kind in GATES:
            checkpoint = Checkpoint.objects.filter(area=compound, name=name).first()
            if checkpoint is None:
                checkpoint = add_checkpoint(None, compound, name, kind)
            if not Camera.objects.filter(checkpoint=checkpoint).exists():
                add_camera(
                    None,
                    checkpoint,
                    CameraData(name=f"{name}摄像头", source=SnapshotSource.UPLOAD),
                )
        for camera in Camera.objects.filter(checkpoint__area=compound):
            if Snapshot.objects.filter(camera=camera).exists():
                continue
            now = timezone.now()
            for age, people in ((20, 1), (10, 2), (0, 4 if number == 0 else 1)):
                content = gate_image(f"{compound.name} {camera.name}", people, camera.pk + age)
                taken = snapshots.upload(None, camera, content)
                Snapshot.objects.filter(pk=taken.pk).update(taken_at=now - timedelta(minutes=age))
