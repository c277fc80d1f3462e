"""The demo town's video patrol: two checkpoints at every compound, each with a camera whose
snapshots are generated gate images (the demo has no real camera to ask); the town's plan
with today's round under way, two findings and their rectification orders (one open, one
answered and waiting for the re-check). Idempotent: a second run adds only what is missing."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from django.utils import timezone

from shouwang.core.demo import TOWN_NAME, DemoTown
from shouwang.core.models import Area, AreaKind, User
from shouwang.patrol.models import (
    Camera,
    Checkpoint,
    CheckpointKind,
    FindingCategory,
    FindingSeverity,
    Inspection,
    RectificationOrder,
    Round,
    Snapshot,
    SnapshotSource,
)
from shouwang.patrol.services import inspections, orders, rounds, snapshots
from shouwang.patrol.services.rounds import FindingData
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
    seed_rounds(street)
    seed_inspections(street)


def seed_rounds(street: Area) -> None:
    """The town's plan, today's round under way (some checkpoints OK, one finding with its
    open rectification order, one answered), once."""
    plan = rounds.ensure_plan(None, street)
    today = rounds.local_today()
    if Round.objects.filter(plan=plan, day=today).exists():
        return
    window = rounds.current_window(plan)
    if window is None:
        local = timezone.localtime().time()
        windows = rounds.parse_windows(plan.windows)
        started = [n for n, (start, _end) in enumerate(windows) if start <= local]
        window = started[-1] if started else 0
    round_ = rounds.open_round(None, plan, today, window)
    stops = list(round_.stops.select_related("checkpoint").order_by("position"))
    latest = {
        s.camera.checkpoint_id: s
        for s in Snapshot.objects.filter(camera__checkpoint__in=[s.checkpoint for s in stops])
        .select_related("camera")
        .order_by("taken_at", "pk")
    }
    findings = {
        0: FindingData(FindingCategory.CROWDING, FindingSeverity.SERIOUS, "门口聚集约十人"),
        3: FindingData(FindingCategory.UNMANNED, FindingSeverity.MINOR, "岗亭无人值守"),
    }
    for n, stop in enumerate(stops[: max(1, len(stops) * 2 // 3)]):
        if n in findings:
            data = findings[n]
            data.evidence = latest.get(stop.checkpoint_id)
            rounds.record_finding(None, stop, data)
        else:
            rounds.mark_ok(None, stop)
    issued = list(RectificationOrder.objects.filter(finding__stop__round=round_).order_by("pk"))
    if len(issued) > 1:
        orders.answer(None, issued[-1], "已安排专人值守", gate_image("fixed", 1, 7))


def seed_inspections(street: Area) -> None:
    """Two blind inspections drawn for the town's operator today, one of them done."""
    inspector = User.objects.filter(username="town").first()
    today = rounds.local_today()
    if inspector is None or Inspection.objects.filter(day=today).exists():
        return
    drawn = inspections.draw(None, inspector, street, today, 2, seed=2020)
    if drawn:
        visit = inspections.Visit(
            {"staffed": True, "checking": True, "no_crowd": True, "masks": True},
            note="值守正常",
            photo=gate_image("inspection", 1, 11),
        )
        inspections.record(None, drawn[0], visit)
