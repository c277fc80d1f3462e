"""Fixtures shared by the whole suite: a small town with two communities and its staff."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.test import Client

from shouwang.core.models import Area, AreaKind, Household, Person, Role, User
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import PersonData, create_household, create_person
from shouwang.core.services.staff import create_staff

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Town:
    district: Area
    street: Area
    east: Area  # community 东风社区
    west: Area  # community 向阳社区
    east_compound: Area
    west_compound: Area
    east_unit: Area
    west_unit: Area
    east_home: Household
    west_home: Household
    east_person: Person
    west_person: Person
    admin: User
    town_operator: User
    east_worker: User
    west_worker: User
    gate_guard: User


def _child(parent: Area, name: str, kind: int) -> Area:
    return create_area(None, parent, name, kind)


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_inline() -> None:
    # Tasks run where they are enqueued, so a test sees their effect without a consumer.
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness is for attackers, not for a suite that logs in thousands
    # of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _first_attempts_by_the_sender_only(settings: Any) -> None:
    # Most tests drive the general sender in their own thread (`sender.run_due()`); the tests
    # of the fast first attempt (tests/alerts/test_notify_fast.py) turn it on themselves.
    settings.NOTIFY = replace(settings.NOTIFY, fast=False)


@pytest.fixture
def town(db: Any) -> Town:
    district = create_area(None, None, "示范区", AreaKind.DISTRICT)
    street = _child(district, "守望街道", AreaKind.STREET)
    east = _child(street, "东风社区", AreaKind.COMMUNITY)
    west = _child(street, "向阳社区", AreaKind.COMMUNITY)
    east_compound = _child(east, "东风花园", AreaKind.COMPOUND)
    west_compound = _child(west, "向阳小区", AreaKind.COMPOUND)
    east_unit = _child(_child(east_compound, "3号楼", AreaKind.BUILDING), "2单元", AreaKind.UNIT)
    west_unit = _child(_child(west_compound, "1号楼", AreaKind.BUILDING), "1单元", AreaKind.UNIT)
    east_home = create_household(None, east_unit, "501")
    west_home = create_household(None, west_unit, "102")
    east_person = create_person(
        None, east_home, PersonData.clean("张三明", "11010519491231002X", "13812345678")
    )
    west_person = create_person(
        None, west_home, PersonData.clean("李四", "440305199003071236", "13987654321")
    )
    return Town(
        district=district,
        street=street,
        east=east,
        west=west,
        east_compound=east_compound,
        west_compound=west_compound,
        east_unit=east_unit,
        west_unit=west_unit,
        east_home=east_home,
        west_home=west_home,
        east_person=east_person,
        west_person=west_person,
        admin=create_staff(None, "admin", PASSWORD, Role.PLATFORM_ADMIN, []),
        town_operator=create_staff(None, "town", PASSWORD, Role.TOWN_OPERATOR, [street]),
        east_worker=create_staff(None, "east", PASSWORD, Role.COMMUNITY_WORKER, [east]),
        west_worker=create_staff(None, "west", PASSWORD, Role.COMMUNITY_WORKER, [west]),
        gate_guard=create_staff(None, "guard", PASSWORD, Role.GATE_GUARD, [east_compound]),
    )


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def east_client(town: Town) -> Client:
    return login(town.east_worker)
