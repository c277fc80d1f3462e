"""JSON API for quarantine cases: the list, one case with its people (masked) and recent
checks, and two actions a worker's app needs in the field: enter a health check, end a case.
Scoped like the pages: a case outside the user's areas is 404.

No `from __future__ import annotations` here: Ninja reads the annotations at import time.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from shouwang.core.api_types import BoundedPagination, Id
from shouwang.core.models import Person
from shouwang.core.permissions import get_visible, require
from shouwang.core.scoping import ScopedQuerySet
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.quarantine.models import Case, HealthCheck
from shouwang.quarantine.perms import MANAGE_CASES, VIEW_CASES
from shouwang.quarantine.services import cases, health

router = Router(tags=["quarantine"])


class PersonOut(Schema):
    id: int
    name: str = Field(description="Masked")


class CaseOut(Schema):
    id: int
    address: str
    area_id: int
    source: str
    status: str
    starts_on: date
    planned_end: date
    started_at: datetime
    ended_at: datetime | None
    device_id: int | None
    people: list[PersonOut]


class CheckOut(Schema):
    id: int
    person_id: int | None
    day: date
    slot: int
    temperature: Decimal | None
    symptoms: list[str]
    fever: bool
    by_resident: bool
    at: datetime


class CaseDetailOut(CaseOut):
    checks: list[CheckOut] = Field(description="The latest checks, newest first")


class CaseFilter(Schema):
    status: Literal["active", "completed", "transferred", "ended_early", "lost"] | None = None


class CheckIn(Schema):
    person_id: Id
    temperature: str = Field(max_length=8, description="°C, e.g. 36.5")
    symptoms: list[str] = Field(default_factory=list, max_length=10)


class EndIn(Schema):
    status: Literal["completed", "transferred", "ended_early", "lost"]
    reason: str = Field("", max_length=200)


def _cases() -> ScopedQuerySet[Case]:
    return Case.objects.select_related("area", "household").prefetch_related("members__person")


def _case_out(case: Case, names: dict[str, tuple[str, int]]) -> dict[str, Any]:
    return {
        "id": case.pk,
        "address": household_address(case.household, names) if case.household else "",
        "area_id": case.area_id,
        "source": case.source,
        "status": case.status,
        "starts_on": case.starts_on,
        "planned_end": case.planned_end,
        "started_at": case.started_at,
        "ended_at": case.ended_at,
        "device_id": case.device_id,
        "people": [{"id": m.person_id, "name": m.person.masked_name} for m in case.members.all()],
    }


def _check_out(check: HealthCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "person_id": check.person_id,
        "day": check.day,
        "slot": check.slot,
        "temperature": check.temperature,
        "symptoms": check.symptoms,
        "fever": check.fever,
        "by_resident": check.by_resident,
        "at": check.at,
    }


class _CasePage:
    """A lazily sliced case list: addresses for a page in one extra query."""

    def __init__(self, queryset: QuerySet[Case]) -> None:
        self.queryset = queryset

    def __len__(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        page = list(self.queryset[item])
        names = ancestor_names(list({c.area.pk: c.area for c in page}.values()))
        return [_case_out(c, names) for c in page]


def _one(request: HttpRequest, case_id: Id) -> Case:
    require(request.user, VIEW_CASES)
    return get_visible(request.user, _cases(), case_id)


def _detail(case: Case) -> dict[str, Any]:
    case = _cases().get(pk=case.pk)
    names = ancestor_names([case.area])
    checks = HealthCheck.objects.filter(case=case).order_by("-day", "-slot")[:20]
    return {**_case_out(case, names), "checks": [_check_out(c) for c in checks]}


@router.get("/quarantine/cases", response=list[CaseOut])
@paginate(BoundedPagination)
def list_cases(request: HttpRequest, filters: Query[CaseFilter]) -> Any:
    """Newest first."""
    require(request.user, VIEW_CASES)
    queryset = _cases().visible_to(request.user)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    return _CasePage(queryset.order_by("-started_at", "-id"))


@router.get("/quarantine/cases/{case_id}", response=CaseDetailOut)
def get_case(request: HttpRequest, case_id: Id) -> dict[str, Any]:
    return _detail(_one(request, case_id))


@router.post("/quarantine/cases/{case_id}/checks", response={201: CheckOut})
def enter_check(request: HttpRequest, case_id: Id, body: CheckIn) -> Any:
    case = _one(request, case_id)
    require(request.user, MANAGE_CASES)
    person = get_visible(
        request.user, Person.objects.filter(quarantine_memberships__case=case), body.person_id
    )
    check = health.enter_check(request.user, case, person, body.temperature, body.symptoms)
    return Status(201, _check_out(check))


@router.post("/quarantine/cases/{case_id}/end", response=CaseDetailOut)
def end_case(request: HttpRequest, case_id: Id, body: EndIn) -> dict[str, Any]:
    case = _one(request, case_id)
    return _detail(cases.end_case(request.user, case, body.status, body.reason))
