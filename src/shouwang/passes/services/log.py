"""Reading the access log: scans by person, and the flow through a compound's gates by hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from shouwang.core.models import Area
from shouwang.passes.models import Scan


def scans_for(
    user: Any,
    *,
    compound: Area | None = None,
    person_text: str = "",
    day: date | None = None,
    denied_only: bool = False,
) -> QuerySet[Scan]:
    scans = Scan.objects.visible_to(user).select_related("compound", "pass_obj__household__area")
    if compound is not None:
        scans = scans.filter(compound=compound)
    text = person_text.strip()
    if text:
        # Names are stored in full for people and visitors alike; the log shows them masked.
        scans = scans.filter(
            Q(person__name__contains=text) | Q(pass_obj__visitor__name__contains=text)
        )
    if day is not None:
        start = timezone.make_aware(datetime.combine(day, time.min))
        scans = scans.filter(at__gte=start, at__lt=start + timedelta(days=1))
    if denied_only:
        scans = scans.filter(allowed=False)
    return scans.order_by("-at", "-id")


@dataclass(frozen=True)
class HourFlow:
    hour: datetime
    came_in: int
    went_out: int
    denied: int


def flow_by_hour(user: Any, compound: Area, day: date) -> list[HourFlow]:
    """People let in and out, and denials, per local hour of one day: one query."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    rows = (
        Scan.objects.visible_to(user)
        .filter(compound=compound, at__gte=start, at__lt=start + timedelta(days=1))
        .annotate(hour=TruncHour("at", tzinfo=timezone.get_current_timezone()))
        .values("hour")
        .annotate(
            came_in=Count("id", filter=Q(allowed=True, direction="in")),
            went_out=Count("id", filter=Q(allowed=True, direction="out")),
            denied=Count("id", filter=Q(allowed=False)),
        )
        .order_by("hour")
    )
    return [HourFlow(r["hour"], r["came_in"], r["went_out"], r["denied"]) for r in rows]
