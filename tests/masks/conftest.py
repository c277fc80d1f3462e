from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from shouwang.core import identity
from shouwang.core.models import Area
from shouwang.masks.models import Round, RoundPoint
from shouwang.masks.services import rounds
from shouwang.masks.services.reserve import Applicant
from tests.conftest import Town


def id_number(n: int) -> str:
    """A valid ID number, different for each n (born 1980-01-01 + n days)."""
    birth = (timezone.datetime(1980, 1, 1) + timedelta(days=n // 900)).strftime("%Y%m%d")
    first17 = f"110105{birth}{n % 900 + 100:03d}"
    return first17 + identity.id_check_char(first17)


def applicant(n: int) -> Applicant:
    return Applicant.clean(f"居民{n}", id_number(n), f"139{n:08d}")


def open_round(town: Town, stock: int = 50, per_person: int = 1, limit_days: int = 7) -> Round:
    return open_round_in(town.street, town.east, town.west, stock, per_person, limit_days)


def open_round_in(
    street: Area,
    east_area: Area | None = None,
    west_area: Area | None = None,
    stock: int = 50,
    per_person: int = 1,
    limit_days: int = 7,
) -> Round:
    """A round open for a day over `street`, 东风 and 向阳 points with `stock` masks each."""
    east = rounds.create_point(None, east_area or street, "东风社区卫生服务站")
    west = rounds.create_point(None, west_area or street, "向阳大药房")
    now = timezone.now()
    return rounds.create_round(
        None,
        street,
        "第一轮",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        per_person=per_person,
        limit_days=limit_days,
        stock={east: stock, west: stock},
    )


def stock_at(round_: Round, name: str) -> RoundPoint:
    return RoundPoint.objects.get(round=round_, point__name=name)


@pytest.fixture
def make_round(town: Town) -> Callable[..., Round]:
    def make(**kwargs: int) -> Round:
        return open_round(town, **kwargs)

    return make
