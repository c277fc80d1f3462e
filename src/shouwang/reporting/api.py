"""The batch API for organisations' own HR systems: `POST /api/v1/reporting/declarations`
with the organisation's key (Bearer). Members are named by ID number (what an HR system
knows), found through the blind index within that organisation only. All or nothing, as the
grid; answered after the commit.

No `from __future__ import annotations` here: Ninja reads the annotations at import time.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from shouwang.core import audit, identity
from shouwang.core.api_types import Day, Problem
from shouwang.core.services.people import id_index
from shouwang.reporting.models import Member, OrgKey, Source
from shouwang.reporting.services import declarations, keys

router = Router(tags=["reporting"])
MAX_BATCH = 5000


class OrgBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> OrgKey | None:
        return keys.authenticate(token)


class DeclarationIn(Schema):
    id_number: str = Field(max_length=30)
    temperature: float | str | None = None
    symptoms: list[str] = Field(default_factory=list, max_length=10)
    travel: str = Field("", max_length=200)
    contact_case: bool = False
    absence: str = Field("", max_length=10)
    absence_note: str = Field("", max_length=200)


class BatchIn(Schema):
    day: Day
    slot: int = Field(0, ge=0, le=2)
    declarations: list[DeclarationIn] = Field(max_length=MAX_BATCH)


class BatchOut(Schema):
    stored: int
    fevers: int
    alerts: int


@router.post(
    "/reporting/declarations",
    auth=OrgBearer(),
    response={200: BatchOut, 422: Problem, 429: Problem},
)
def submit_declarations(request: HttpRequest, batch: BatchIn) -> Any:
    """One organisation's declarations for one day and check, from its HR system."""
    key: OrgKey = request.auth  # type: ignore[attr-defined]
    if not keys.take_slot(key):
        return Status(429, {"detail": f"at most {key.per_minute} batches a minute for this key"})
    org = key.organisation
    indexes: list[str | None] = []
    problems: dict[str, list[str]] = {}
    for number, item in enumerate(batch.declarations):
        try:
            indexes.append(id_index(identity.normalize_id_number(item.id_number)))
        except ValidationError as exc:
            problems[f"declarations.{number}.id_number"] = list(exc.messages)
            indexes.append(None)
    found = dict(
        Member.objects.filter(
            organisation=org, active=True, id_number_index__in=[i for i in indexes if i]
        ).values_list("id_number_index", "pk")
    )
    entries = []
    rows: dict[int, int] = {}
    for number, (item, index) in enumerate(zip(batch.declarations, indexes, strict=True)):
        if index is None:
            continue
        if index not in found:
            problems[f"declarations.{number}.id_number"] = ["no such member in this organisation"]
            continue
        rows[found[index]] = number
        entries.append(
            declarations.Entry(
                member_id=found[index],
                temperature=None if item.temperature is None else str(item.temperature),
                symptoms=item.symptoms,
                travel=item.travel,
                contact_case=item.contact_case,
                absence=item.absence,
                absence_note=item.absence_note,
            )
        )
    if problems:
        return Status(422, {"detail": problems})
    origin = audit.current_origin()
    with audit.origin("api", origin.ip, origin.user_agent):
        result = declarations.declare(None, org, batch.day, batch.slot, entries, Source.API)
    if result.errors:
        return Status(
            422,
            {
                "detail": {
                    f"declarations.{rows[member]}": reasons
                    for member, reasons in result.errors.items()
                }
            },
        )
    return Status(200, {"stored": result.stored, "fevers": result.fevers, "alerts": result.alerts})
