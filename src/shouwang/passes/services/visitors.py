"""Visitors registered at the gate, with an optional pass valid for a few hours.

A visit to a household under home quarantine is refused at the gate (`verify`) until a worker
approves it with a reason (delivery to the door, medical staff…): the registration says so,
the approval is audited, and the gate shows who approved it and why. The check is made at the
gate at scan time, so a case started after the pass was handed out stops the visit too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, identity
from shouwang.core.models import Household
from shouwang.core.permissions import require, require_area
from shouwang.passes.models import PassKind, VisitApproval, Visitor
from shouwang.passes.perms import APPROVE_VISITS
from shouwang.passes.services import issue
from shouwang.passes.services.issue import Issued
from shouwang.quarantine.services.queries import household_quarantined

REGISTER = "passes.add_visitor"
MAX_HOURS = 24


@dataclass(frozen=True)
class Registered:
    visitor: Visitor
    issued: Issued | None
    # The host household is under home quarantine: the visit needs a worker's approval.
    needs_approval: bool = False


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
    quarantined = household_quarantined(household.pk, now)
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
            details={
                "pass": issued.pass_obj.pk if issued else None,
                "hours": pass_hours,
                "quarantine": quarantined,
            },
        )
    return Registered(visitor, issued, needs_approval=quarantined)


def needs_approval(visitor: Visitor, at: datetime | None = None) -> bool:
    """Whether this visit is refused until a worker approves it."""
    return visitor.approved_at is None and household_quarantined(visitor.household_id, at)


def approve_visit(actor: Any, visitor: Visitor, reason: str, note: str = "") -> Visitor:
    """A worker lets this visitor in to a household under home quarantine, and says why.

    "Other" needs a note. The approval holds for this visit (its pass) only; it is audited and
    shown at the gate with its reason.
    """
    require(actor, APPROVE_VISITS)
    visitor = Visitor.objects.select_related("household__area").get(pk=visitor.pk)
    require_area(actor, visitor.household.area.path)
    note = " ".join((note or "").split())[:200]
    errors: dict[str, list[str]] = {}
    if reason not in VisitApproval.values:
        errors["reason"] = [_("Choose why the visitor may go in.")]
    elif reason == VisitApproval.OTHER and not note:
        errors["note"] = [_("Say why the visitor may go in.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        locked = Visitor.objects.select_for_update().get(pk=visitor.pk)
        if locked.approved_at is not None:
            raise ValidationError(_("This visit is already approved."))
        locked.approved_at, locked.approved_by = now, actor if getattr(actor, "pk", None) else None
        locked.approval_reason, locked.approval_note = reason, note
        locked.save(
            update_fields=["approved_at", "approved_by", "approval_reason", "approval_note"]
        )
        audit.record(
            "visitor.approve",
            actor=actor,
            target=locked,
            area=visitor.household.area,
            details={"reason": reason, "note": note, "household": visitor.household_id},
        )
    return locked


def approval_text(visitor: Visitor) -> str:
    """What the gate shows of an approval: "医护人员上门（批准：王五）: note"."""
    if visitor.approved_at is None:
        return ""
    text = str(VisitApproval(visitor.approval_reason).label)
    if visitor.approval_note:
        text = _("%(reason)s: %(note)s") % {"reason": text, "note": visitor.approval_note}
    who = str(visitor.approved_by) if visitor.approved_by else ""
    return _("%(text)s (approved by %(who)s)") % {"text": text, "who": who} if who else text
