"""Visitors registered at the gate, with an optional pass valid for a few hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, identity
from shouwang.core.models import Household
from shouwang.core.permissions import require, require_area
from shouwang.passes.models import PassKind, Visitor
from shouwang.passes.services import issue
from shouwang.passes.services.issue import Issued

REGISTER = "passes.add_visitor"
MAX_HOURS = 24


@dataclass(frozen=True)
class Registered:
    visitor: Visitor
    issued: Issued | None


def register_visitor(
    actor: Any,
    *,
    name: str,
    phone: str,
    household: Household,
    reason: str,
    pass_hours: int = 0,
) -> Registered:
    """Record a visit (the host household is kept) and, if asked, hand out a temporary pass
    for the host's compound."""
    require(actor, REGISTER)
    household = Household.objects.select_related("area").get(pk=household.pk)
    require_area(actor, household.area.path)
    errors: dict[str, list[str]] = {}
    name, reason = (name or "").strip(), (reason or "").strip()
    if not name:
        errors["name"] = [_("Enter the visitor's name.")]
    try:
        phone = identity.normalize_phone(phone)
    except ValidationError as exc:
        errors["phone"] = list(exc.messages)
    if not reason:
        errors["reason"] = [_("Say why they visit.")]
    if not 0 <= pass_hours <= MAX_HOURS:
        errors["pass_hours"] = [_("A visitor's pass lasts at most %(n)d hours.") % {"n": MAX_HOURS}]
    compound = issue.compound_of(household.area)
    if compound is None:
        errors["household"] = [_("This household is not inside a compound.")]
    if errors:
        raise ValidationError(errors)
    assert compound is not None  # noqa: S101 - checked just above, for the type checker
    now = timezone.now()
    with transaction.atomic():
        visitor = Visitor.objects.create(
            name=name[:100],
            phone=phone,
            household=household,
            compound=compound,
            reason=reason[:200],
            registered_by=actor if getattr(actor, "pk", None) else None,
            at=now,
        )
        issued = None
        if pass_hours:
            issued = issue._create(
                actor,
                kind=PassKind.VISITOR,
                household=household,
                holder_name=visitor.masked_name,
                compounds=[compound],
                valid_from=now,
                valid_until=now + timedelta(hours=pass_hours),
                visitor=visitor,
            )
        audit.record(
            "visitor.register",
            actor=actor,
            target=visitor,
            area=household.area,
            details={"pass": issued.pass_obj.pk if issued else None, "hours": pass_hours},
        )
    return Registered(visitor, issued)
