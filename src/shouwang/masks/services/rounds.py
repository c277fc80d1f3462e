"""Opening a round and setting the stock at its pickup points (staff actions)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.permissions import require, require_area
from shouwang.core.scoping import Actor
from shouwang.masks.models import PickupPoint, Round, RoundPoint
from shouwang.masks.perms import ADD_ROUNDS, CHANGE_ROUNDS


def create_point(actor: Actor, area: Area, name: str, address: str = "") -> PickupPoint:
    require(actor, CHANGE_ROUNDS)
    require_area(actor, area.path)
    with transaction.atomic():
        point = PickupPoint.objects.create(area=area, name=name.strip(), address=address.strip())
        audit.record("masks.point_create", actor=actor, target=point, area=area)
    return point


def create_round(
    actor: Actor,
    area: Area,
    name: str,
    opens_at: datetime,
    closes_at: datetime,
    per_person: int,
    limit_days: int,
    stock: dict[PickupPoint, int],
) -> Round:
    """A round over `area` with `stock[point]` masks at each point (all inside the area)."""
    require(actor, ADD_ROUNDS)
    require_area(actor, area.path)
    if closes_at <= opens_at:
        raise ValidationError(_("A round must close after it opens."), code="window")
    if per_person < 1 or limit_days < 0:
        raise ValidationError(_("Masks per person must be at least 1."), code="per_person")
    for point, count in stock.items():
        if not point.area.path.startswith(area.path):
            raise ValidationError(_("%(point)s lies outside the round's area.") % {"point": point})
        if count < 0:
            raise ValidationError(_("Stock cannot be negative."), code="stock")
    with transaction.atomic():
        round_ = Round.objects.create(
            area=area,
            name=name.strip(),
            opens_at=opens_at,
            closes_at=closes_at,
            per_person=per_person,
            limit_days=limit_days,
            created_by=actor,
        )
        RoundPoint.objects.bulk_create(
            RoundPoint(round=round_, point=point, stock=count, remaining=count)
            for point, count in stock.items()
        )
        audit.record(
            "masks.round_create",
            actor=actor,
            target=round_,
            area=area,
            details={"stock": {str(p.pk): n for p, n in stock.items()}},
        )
    return round_


def add_stock(actor: Actor, stock: RoundPoint, count: int) -> None:
    """More masks delivered to a point during a round (stock and remaining both grow)."""
    require(actor, CHANGE_ROUNDS)
    require_area(actor, stock.point.area.path)
    if count < 1:
        raise ValidationError(_("Add at least one mask."), code="stock")
    with transaction.atomic():
        RoundPoint.objects.filter(pk=stock.pk).update(
            stock=F("stock") + count, remaining=F("remaining") + count
        )
        audit.record(
            "masks.stock_add",
            actor=actor,
            target=stock.round,
            area=stock.point.area,
            details={"point": stock.point_id, "masks": count},
        )
