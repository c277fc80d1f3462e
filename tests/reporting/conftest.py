"""Two enterprises in the same community (a contact of one must not reach the other), a
school, and their contacts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from shouwang.core.models import User
from shouwang.core.models.staff import Role
from shouwang.core.services.staff import create_staff
from shouwang.reporting.models import Member, Organisation, OrgKind
from shouwang.reporting.services import organisations
from tests.conftest import PASSWORD, Town

# Real, published codes (the standard's own example; Huawei Technologies, Alibaba (China),
# Baidu Online, Tencent (Shenzhen), Xiaomi (Beijing)).
REAL_CODES = (
    "91350100M000100Y43",
    "914403001922038216",
    "91330100716105852F",
    "91110000802100433B",
    "9144030071526726XG",
    "91110108551385082Q",
)


@dataclass
class Orgs:
    acme: Organisation
    rival: Organisation  # same community as acme
    school: Organisation
    far: Organisation  # in the other community
    acme_contact: User
    rival_contact: User
    school_contact: User
    reviewer: User


def add_member(org: Organisation, name: str, id_number: str, phone: str = "") -> Member:
    from shouwang.core.services.people import id_index, phone_index

    return Member.objects.create(
        organisation=org,
        name=name,
        id_number=id_number,
        id_number_index=id_index(id_number),
        phone=phone or None,
        phone_index=phone_index(phone) if phone else None,
    )


@pytest.fixture
def orgs(town: Town) -> Orgs:
    acme = organisations.create_organisation(
        None, OrgKind.ENTERPRISE, "守望精密制造有限公司", town.east, credit_code=REAL_CODES[1]
    )
    rival = organisations.create_organisation(
        None, OrgKind.ENTERPRISE, "东风物流有限公司", town.east, credit_code=REAL_CODES[2]
    )
    school = organisations.create_organisation(
        None, OrgKind.SCHOOL, "东风小学", town.east, education_code="2131000001"
    )
    far = organisations.create_organisation(
        None, OrgKind.ENTERPRISE, "向阳食品厂", town.west, credit_code=REAL_CODES[3]
    )
    return Orgs(
        acme=acme,
        rival=rival,
        school=school,
        far=far,
        acme_contact=organisations.add_contact(None, acme, "acme", PASSWORD, "张会计"),
        rival_contact=organisations.add_contact(None, rival, "rival", PASSWORD),
        school_contact=organisations.add_contact(None, school, "school", PASSWORD),
        reviewer=create_staff(None, "reviewer", PASSWORD, Role.REVIEWER, [town.street]),
    )


@pytest.fixture
def people(orgs: Orgs) -> dict[str, Any]:
    return {
        "acme1": add_member(orgs.acme, "王伟", "44030519900101123X", "13900000001"),
        "acme2": add_member(orgs.acme, "李芳", "110105198506070014", "13900000002"),
        "rival1": add_member(orgs.rival, "赵强", "320102197803150032", "13900000003"),
        "pupil": add_member(orgs.school, "小明", "310104201505050017"),
    }


# 08:30 in Shanghai on a Tuesday: the morning's declarations are coming in.
T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller
