"""The demo town's mask round: one pickup point per community, a round open for a week."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from shouwang.core.demo import TOWN_NAME, DemoTown
from shouwang.core.models import Area, AreaKind
from shouwang.masks.models import PickupPoint, Round
from shouwang.masks.services import rounds

ROUND_NAME = "口罩预约（演示）"


def demo_part(town: DemoTown) -> None:
    """Registered with `core.demo` in `MasksConfig.ready()`. Idempotent."""
    street = Area.objects.filter(name=TOWN_NAME, kind=AreaKind.STREET).first()
    if street is None or Round.objects.filter(area=street, name=ROUND_NAME).exists():
        return
    points = []
    communities = Area.objects.filter(
        path__startswith=street.path, kind=AreaKind.COMMUNITY
    ).order_by("path")
    for community in communities:
        point = PickupPoint.objects.filter(area=community).first()
        points.append(point or rounds.create_point(None, community, f"{community.name}卫生服务站"))
    now = timezone.now()
    rounds.create_round(
        None,
        street,
        ROUND_NAME,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7),
        per_person=5,
        limit_days=7,
        stock={p: 500 for p in points},
    )
