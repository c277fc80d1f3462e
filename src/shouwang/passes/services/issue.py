"""Issuing passes (one, a whole compound, tenants, visitors), and changing their status.

Every status change names a reason and writes an audit entry in the same transaction. A change
reaches online gates at once (they ask the database) and offline gates at their next sync.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area, AreaKind, Household, Person
from shouwang.core.permissions import require, require_area
from shouwang.passes.models import Pass, PassKind, PassStatus
from shouwang.passes.services import codec, keys

ISSUE = "passes.add_pass"
CHANGE = "passes.change_pass"
# A resident's pass without an end date still has a personal link that ends.
LINK_DAYS = 366


@dataclass(frozen=True)
class Issued:
    pass_obj: Pass
    link_token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def compound_of(area: Area) -> Area | None:
    """The compound an area lies in (itself if it is one)."""
    if area.kind == AreaKind.COMPOUND:
        return area
    if area.kind < AreaKind.COMPOUND:
        return None
    found: Area | None = Area.objects.filter(
        path__in=area.ancestor_paths(), kind=AreaKind.COMPOUND
    ).first()
    return found


def _check_compounds(actor: Any, compounds: Sequence[Area]) -> list[Area]:
    if not compounds:
        raise ValidationError({"compounds": [_("Choose at least one compound.")]})
    for area in compounds:
        if area.kind != AreaKind.COMPOUND:
            raise ValidationError(
                {"compounds": [_("%(name)s is not a compound.") % {"name": area.name}]}
            )
        require_area(actor, area.path)
    return sorted(set(compounds), key=lambda a: a.pk)


def _check_validity(kind: str, valid_from: datetime, valid_until: datetime | None) -> None:
    if kind in (PassKind.TENANT, PassKind.VISITOR) and valid_until is None:
        raise ValidationError({"valid_until": [_("A tenant's or visitor's pass needs an end.")]})
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError({"valid_until": [_("The end must come after the start.")]})


def _claims(p: Pass, compound_ids: Iterable[int]) -> codec.Claims:
    return codec.Claims(
        pass_id=p.pk,
        name=p.holder_name,
        compounds=tuple(sorted(compound_ids)),
        kind=p.kind[0],
        issued_at=timezone.now(),
        not_before=p.valid_from,
        expires=p.valid_until,
    )


def _sign(p: Pass, compound_ids: Iterable[int], signer: tuple[str, Any]) -> None:
    kid, private = signer
    p.code = codec.sign(_claims(p, compound_ids), private, kid)
    p.kid = kid


def _new_link(p: Pass) -> str:
    token = secrets.token_urlsafe(32)  # 256 bits, as docs/passes.md says
    p.link_hash = hash_token(token)
    p.link_expires_at = p.valid_until or (timezone.now() + timedelta(days=LINK_DAYS))
    return token


def _create(
    actor: Any,
    *,
    kind: str,
    household: Household,
    holder_name: str,
    compounds: list[Area],
    valid_from: datetime,
    valid_until: datetime | None,
    person: Person | None = None,
    visitor: Any = None,
    dynamic: bool = False,
    signer: tuple[str, Any] | None = None,
) -> Issued:
    p = Pass.objects.create(
        kind=kind,
        person=person,
        visitor=visitor,
        household=household,
        holder_name=holder_name,
        valid_from=valid_from,
        valid_until=valid_until,
        dynamic=dynamic,
        issued_by=actor if getattr(actor, "pk", None) else None,
    )
    p.compounds.set(compounds)
    _sign(p, [c.pk for c in compounds], signer or keys.current_signer())
    token = _new_link(p)
    p.save(update_fields=["code", "kid", "link_hash", "link_expires_at"])
    return Issued(p, token)


def issue_pass(
    actor: Any,
    person: Person,
    *,
    compounds: Sequence[Area] | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    kind: str = PassKind.RESIDENT,
    dynamic: bool = False,
) -> Issued:
    """One pass for one resident or tenant; by default for the compound they live in."""
    require(actor, ISSUE)
    household = Household.objects.select_related("area").get(pk=person.household_id)
    require_area(actor, household.area.path)
    if kind not in (PassKind.RESIDENT, PassKind.TENANT):
        raise ValidationError({"kind": [_("Residents' passes are for residents or tenants.")]})
    if compounds is None:
        home = compound_of(household.area)
        compounds = [home] if home else []
    chosen = _check_compounds(actor, compounds)
    start = valid_from or timezone.now()
    _check_validity(kind, start, valid_until)
    with transaction.atomic():
        issued = _create(
            actor,
            kind=kind,
            household=household,
            holder_name=person.masked_name,
            compounds=chosen,
            valid_from=start,
            valid_until=valid_until,
            person=person,
            dynamic=dynamic,
        )
        audit.record(
            "pass.issue",
            actor=actor,
            target=issued.pass_obj,
            area=household.area,
            details={"kind": kind, "compounds": [c.pk for c in chosen]},
        )
    return issued


def issue_for_compound(
    actor: Any,
    compound: Area,
    *,
    valid_until: datetime | None = None,
) -> list[Issued]:
    """A resident's pass for everyone on the roster of a compound who has no live pass yet.

    Running it again issues only to people added since: nobody gets two passes.
    """
    require(actor, ISSUE)
    (compound,) = _check_compounds(actor, [compound])
    now = timezone.now()
    _check_validity(PassKind.RESIDENT, now, valid_until)
    live = Pass.objects.filter(
        person__isnull=False, status__in=[PassStatus.ACTIVE, PassStatus.SUSPENDED]
    ).exclude(valid_until__lte=now)
    people = (
        Person.objects.filter(household__area__path__startswith=compound.path)
        .exclude(pk__in=live.values("person_id"))
        .select_related("household")
        .order_by("household__area__path", "household__door", "pk")
    )
    signer = keys.current_signer()
    issued: list[Issued] = []
    with transaction.atomic():
        for person in people:
            issued.append(
                _create(
                    actor,
                    kind=PassKind.RESIDENT,
                    household=person.household,
                    holder_name=person.masked_name,
                    compounds=[compound],
                    valid_from=now,
                    valid_until=valid_until,
                    person=person,
                    signer=signer,
                )
            )
        if issued:  # a run that found everyone served changed nothing to account for
            audit.record(
                "pass.issue_bulk",
                actor=actor,
                area=compound,
                details={"compound": compound.pk, "count": len(issued)},
            )
    return issued


def _change_status(
    actor: Any, p: Pass, new: str, reason: str, allowed_from: set[str], action: str
) -> Pass:
    require(actor, CHANGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why: the reason is kept with the pass.")]})
    with transaction.atomic():
        locked = Pass.objects.select_for_update().select_related("household__area").get(pk=p.pk)
        require_area(actor, locked.household.area.path)
        if locked.status not in allowed_from:
            raise ValidationError(
                {
                    "status": [
                        _("This pass is %(status)s: it cannot be changed that way.")
                        % {"status": locked.get_status_display()}
                    ]
                }
            )
        old = locked.status
        locked.status, locked.status_reason = new, reason[:200]
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_reason", "status_changed_at"])
        audit.record(
            action,
            actor=actor,
            target=locked,
            area=locked.household.area,
            details={"from": old, "to": new, "reason": reason[:200]},
        )
    return locked


def revoke(actor: Any, p: Pass, reason: str) -> Pass:
    """For good: a revoked pass is never valid again (issue a new one instead)."""
    return _change_status(
        actor,
        p,
        PassStatus.REVOKED,
        reason,
        {PassStatus.ACTIVE, PassStatus.SUSPENDED},
        "pass.revoke",
    )


def suspend(actor: Any, p: Pass, reason: str) -> Pass:
    return _change_status(
        actor, p, PassStatus.SUSPENDED, reason, {PassStatus.ACTIVE}, "pass.suspend"
    )


def reinstate(actor: Any, p: Pass, reason: str) -> Pass:
    return _change_status(
        actor, p, PassStatus.ACTIVE, reason, {PassStatus.SUSPENDED}, "pass.reinstate"
    )


def new_link(actor: Any, p: Pass) -> str:
    """A fresh personal link (the old one stops working), e.g. when a resident lost theirs."""
    require(actor, CHANGE)
    with transaction.atomic():
        locked = Pass.objects.select_for_update().select_related("household__area").get(pk=p.pk)
        require_area(actor, locked.household.area.path)
        token = _new_link(locked)
        locked.save(update_fields=["link_hash", "link_expires_at"])
        audit.record("pass.new_link", actor=actor, target=locked, area=locked.household.area)
    return token


def pass_for_link(token: str) -> Pass | None:
    """The pass behind a resident's personal link, or None (unknown or expired link)."""
    if not token or len(token) > 100:
        return None
    found = (
        Pass.objects.filter(link_hash=hash_token(token), link_expires_at__gt=timezone.now())
        .prefetch_related("compounds")
        .first()
    )
    return found


def resign_passes(kid: str) -> int:
    """Re-sign the passes that still use `kid` with the current key (inside the caller's
    transaction). Revoked and expired passes keep their old code: it must not work anyway."""
    now = timezone.now()
    signer = keys.current_signer()
    todo = (
        Pass.objects.filter(kid=kid, status__in=[PassStatus.ACTIVE, PassStatus.SUSPENDED])
        .exclude(valid_until__lte=now)
        .prefetch_related("compounds")
    )
    count = 0
    for p in todo:
        _sign(p, [c.pk for c in p.compounds.all()], signer)
        p.save(update_fields=["code", "kid"])
        count += 1
    return count
