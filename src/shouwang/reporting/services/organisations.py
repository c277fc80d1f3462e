"""Registering organisations and their contacts; revealing a member's full ID or phone."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.models.staff import Role, User
from shouwang.core.permissions import require, require_area
from shouwang.core.scoping import get_visible
from shouwang.core.services.staff import create_staff
from shouwang.reporting import codes
from shouwang.reporting.models import Contact, Member, Organisation, OrgKind
from shouwang.reporting.perms import MANAGE_ORGS, REVEAL_MEMBERS

REVEALABLE = ("id_number", "phone")


def create_organisation(
    actor: Any,
    kind: str,
    name: str,
    area: Area,
    credit_code: str = "",
    education_code: str = "",
) -> Organisation:
    """An enterprise needs its unified social credit code; a school has it or its 学校标识码."""
    require(actor, MANAGE_ORGS)
    require_area(actor, area.path)
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = [_("Name is required.")]
    if kind not in OrgKind.values:
        errors["kind"] = [_("Choose enterprise or school.")]
    credit = education = None
    if credit_code.strip():
        try:
            credit = codes.normalize_credit_code(credit_code)
        except ValidationError as exc:
            errors["credit_code"] = exc.messages
    if education_code.strip():
        try:
            education = codes.normalize_education_code(education_code)
        except ValidationError as exc:
            errors["education_code"] = exc.messages
    if kind == OrgKind.ENTERPRISE and not credit and "credit_code" not in errors:
        errors["credit_code"] = [
            _("An enterprise is identified by its unified social credit code.")
        ]
    if (
        kind == OrgKind.SCHOOL
        and not (credit or education)
        and not errors.keys()
        & {
            "credit_code",
            "education_code",
        }
    ):
        errors["education_code"] = [
            _("A school is identified by its unified social credit code or its education code.")
        ]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            org = Organisation.objects.create(
                kind=kind,
                name=name,
                area=area,
                credit_code=credit,
                education_code=education,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            audit.record(
                "reporting.organisation_create",
                actor=actor,
                target=org,
                area=area,
                details={"kind": kind},
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"credit_code": [_("An organisation with this code is already registered.")]}
        ) from exc
    return org


def add_contact(
    actor: Any, org: Organisation, username: str, password: str, display_name: str = ""
) -> User:
    """A new account of the role 企业/学校联系人, bound to the organisation's area and to the
    organisation itself (it sees no other, even in the same area)."""
    require(actor, MANAGE_ORGS)
    org = get_visible(actor, Organisation, org.pk)
    with transaction.atomic():
        user = create_staff(
            None, username, password, Role.ENTERPRISE_CONTACT, [org.area], display_name
        )
        Contact.objects.create(user=user, organisation=org)
        audit.record(
            "reporting.contact_add",
            actor=actor,
            target=org,
            area=org.area,
            details={"user": user.pk},
        )
    return user


def reveal(actor: Any, member: Member, field: str, reason: str = "") -> str:
    """A member's full ID or phone number, for a role that may see it; always audited."""
    if field not in REVEALABLE:
        raise ValidationError(_("Only the ID number or the phone number can be revealed."))
    if actor is None or not actor.has_perm(REVEAL_MEMBERS):
        raise PermissionDenied(_("Your role may not see full ID or phone numbers."))
    member = get_visible(actor, Member.objects.select_related("organisation__area"), member.pk)
    value: str = getattr(member, field) or ""
    with transaction.atomic():
        audit.record(
            "reporting.member_reveal",
            actor=actor,
            target=member,
            area=member.organisation.area,
            details={"field": field, "reason": reason[:200]},
        )
    return value
