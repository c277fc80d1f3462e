"""Blind inspections (单兵盲考): where no camera reaches, an inspector turns up unannounced.

`draw` picks the day's checkpoints at random, weighted towards communities that lost points on
the score card in the last week (weight = 1 + points lost), without repeating a checkpoint; the
list is the inspector's, readable only with the inspect permission (a community worker gets
404). `record` is the visit from the phone: the checklist, a photo (decoded whole, kept
encrypted), a link to the video, the phone's location; every failed item becomes a finding of
its category with its rectification order, so it feeds the same score card. `coverage` says
when each checkpoint was last inspected.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, crypto
from shouwang.core.models import Area, User
from shouwang.core.permissions import Actor, require, require_area
from shouwang.patrol.models import (
    CHECK_ITEM_CATEGORY,
    INSPECTION_PHOTO_CONTEXT,
    CheckItem,
    Checkpoint,
    Finding,
    FindingSeverity,
    Inspection,
    _live_url_validator,
)
from shouwang.patrol.perms import INSPECT
from shouwang.patrol.services import orders, scores, snapshots


def weights(town: Area, day: date) -> dict[int, float]:
    """Community id → 1 + the points it lost over the 7 days before `day`."""
    lost: dict[int, float] = {}
    for offset in range(1, 8):
        for row in scores.card(None, town, day - timedelta(days=offset)).rows:
            lost[row.community.pk] = lost.get(row.community.pk, 0.0) + row.lost
    return {pk: 1.0 + points for pk, points in lost.items()}


def draw(
    actor: Actor, inspector: User, town: Area, day: date, count: int, seed: int | None = None
) -> list[Inspection]:
    require(actor, INSPECT)
    require_area(actor, town.path)
    if not 1 <= count <= 50:
        raise ValidationError({"count": [_("Draw between 1 and 50 checkpoints.")]})
    already = set(Inspection.objects.filter(day=day).values_list("checkpoint_id", flat=True))
    candidates = [
        c
        for c in Checkpoint.objects.filter(area__path__startswith=town.path, active=True)
        .select_related("area")
        .order_by("pk")
        if c.pk not in already
    ]
    community_weight = weights(town, day)
    community_of = {c.pk: orders.responsible_community(c.area).pk for c in candidates}
    rng = random.Random(seed)  # noqa: S311 - a fair draw, not a secret
    chosen: list[Checkpoint] = []
    pool = list(candidates)
    while pool and len(chosen) < count:
        w = [community_weight.get(community_of[c.pk], 1.0) for c in pool]
        pick = rng.choices(range(len(pool)), weights=w)[0]
        chosen.append(pool.pop(pick))
    drawn = []
    with transaction.atomic():
        for checkpoint in chosen:
            try:
                with transaction.atomic():
                    drawn.append(
                        Inspection.objects.create(
                            checkpoint=checkpoint, inspector=inspector, day=day
                        )
                    )
            except IntegrityError:
                continue
        audit.record(
            "patrol.inspection_draw",
            actor=actor,
            area=town,
            details={"day": day.isoformat(), "count": len(drawn), "inspector": inspector.pk},
        )
    return drawn


@dataclass
class Visit:
    checklist: dict[str, bool]
    note: str = ""
    video_link: str = ""
    photo: bytes | None = None
    latitude: str = ""
    longitude: str = ""


def _coordinate(text: str, limit: int) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"location": [_("The location is not a coordinate.")]}) from exc
    if not -limit <= value <= limit:
        raise ValidationError({"location": [_("The location is not a coordinate.")]})
    return value


def record(actor: Actor, inspection: Inspection, visit: Visit) -> list[Finding]:
    """The inspector's visit, once; the failed items become findings and orders."""
    require(actor, INSPECT)
    require_area(actor, inspection.checkpoint.area.path)
    if set(visit.checklist) != set(CheckItem.values):
        raise ValidationError({"checklist": [_("Answer every item of the checklist.")]})
    link = visit.video_link.strip()
    if link:
        _live_url_validator(link)
    kind = None
    if visit.photo:
        kind = snapshots.image_type(visit.photo)
        if len(visit.photo) > snapshots.MAX_IMAGE_BYTES or kind is None:
            raise ValidationError({"photo": [_("This file is not a JPEG or PNG image.")]})
        if not snapshots.whole_image(visit.photo):
            raise ValidationError({"photo": [_("This file is not a JPEG or PNG image.")]})
    latitude = _coordinate(visit.latitude.strip(), 90)
    longitude = _coordinate(visit.longitude.strip(), 180)
    now = timezone.now()
    note = " ".join(visit.note.split())[:500]
    findings = []
    with transaction.atomic():
        done = Inspection.objects.filter(pk=inspection.pk, done_at__isnull=True).update(
            done_at=now,
            checklist=visit.checklist,
            note=note,
            video_link=link,
            latitude=latitude,
            longitude=longitude,
            photo=crypto.encrypt_bytes(visit.photo, INSPECTION_PHOTO_CONTEXT)
            if visit.photo
            else None,
            photo_type=kind or "",
        )
        if not done:
            raise ValidationError(_("This inspection is already recorded."))
        for item, passed in visit.checklist.items():
            if passed:
                continue
            finding = Finding.objects.create(
                checkpoint=inspection.checkpoint,
                inspection=inspection,
                category=CHECK_ITEM_CATEGORY[CheckItem(item)],
                severity=FindingSeverity.SERIOUS,
                note=note,
                found_at=now,
                found_by=actor,
            )
            orders.issue(actor, finding)
            findings.append(finding)
        audit.record(
            "patrol.inspection",
            actor=actor,
            target=inspection,
            area=inspection.checkpoint.area,
            details={"failed": len(findings), "photo": bool(visit.photo), "video": bool(link)},
        )
    return findings


def coverage(actor: Actor, town: Area, days: int = 30) -> list[tuple[Checkpoint, date | None]]:
    """Each checkpoint of the town and the day it was last inspected (None: not in `days`)."""
    require(actor, INSPECT)
    since = timezone.localdate() - timedelta(days=days)
    last = dict(
        Inspection.objects.filter(
            checkpoint__area__path__startswith=town.path, done_at__isnull=False, day__gte=since
        )
        .values("checkpoint_id")
        .annotate(last=Max("day"))
        .values_list("checkpoint_id", "last")
    )
    return [
        (c, last.get(c.pk))
        for c in Checkpoint.objects.visible_to(actor)
        .filter(area__path__startswith=town.path, active=True)
        .select_related("area")
        .order_by("area__path", "name")
    ]
