"""Daily declarations: entered in bulk by the contact (the grid), by a member on their own
phone link, or by the organisation's HR system; and what they raise.

One action stores a batch (`declare`): checks, upserts one row per member and slot, raises
the anomalies (`anomalies.triggers_for`) through the alert engine and writes one audit entry,
all in one transaction; the alerts are announced on commit by the engine.

The member's link is a random 256-bit token of which only the SHA-256 is stored; it reaches
that member's own declaration only, expires (default 14 days) and is replaced by a new one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts.services.alerting import raise_alerts
from shouwang.core import audit, readings
from shouwang.core.permissions import require
from shouwang.core.scoping import get_visible
from shouwang.reporting.models import (
    Absence,
    Declaration,
    Member,
    MemberLink,
    Organisation,
    Slot,
    Source,
)
from shouwang.reporting.perms import DECLARE, MANAGE_MEMBERS
from shouwang.reporting.services import anomalies

SYMPTOMS = readings.SYMPTOMS
BACKDATE_DAYS = 7  # a day may be filled in late, up to a week back
LINK_DAYS = 14
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass
class Entry:
    """One member's values as typed; checked by `declare`."""

    member_id: int
    temperature: Any = None
    symptoms: Sequence[str] = ()
    travel: str = ""
    contact_case: bool = False
    absence: str = ""
    absence_note: str = ""


@dataclass
class DeclareResult:
    stored: int = 0
    fevers: int = 0
    alerts: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)  # member id → reasons


def slots_for(org: Organisation) -> list[int]:
    return [Slot.MORNING, Slot.NOON] if org.is_school else [Slot.DAY]


def check_day(org: Organisation, day: date, slot: int) -> None:
    today = timezone.localdate()
    if day > today:
        raise ValidationError(_("A declaration cannot be for a day that has not come."))
    if day < today - timedelta(days=BACKDATE_DAYS):
        raise ValidationError(
            _("Declarations can be filled in up to %(n)d days late.") % {"n": BACKDATE_DAYS}
        )
    if slot not in slots_for(org):
        raise ValidationError(_("This organisation does not declare that check."))


def _clean(entry: Entry, school: bool) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    absence = entry.absence or ""
    if absence not in Absence.values or (absence and not school):
        errors.append(_("Unknown absence."))
        absence = ""
    temperature: Decimal | None = None
    if entry.temperature not in (None, ""):
        try:
            temperature = readings.parse_temperature(entry.temperature)
        except ValidationError as exc:
            errors.extend(exc.messages)
    elif not absence:
        errors.append(_("Enter the temperature."))
    chosen = sorted(set(entry.symptoms))
    if any(s not in SYMPTOMS for s in chosen):
        errors.append(_("Unknown symptom."))
    if absence == Absence.OTHER and not entry.absence_note.strip():
        errors.append(_("Say why the student is absent."))
    values = {
        "temperature": temperature,
        "symptoms": chosen,
        "travel": " ".join(entry.travel.split())[:200],
        "contact_case": bool(entry.contact_case),
        "absence": absence,
        "absence_note": " ".join(entry.absence_note.split())[:200],
    }
    return values, errors


def declare(
    actor: Any,
    org: Organisation,
    day: date,
    slot: int,
    entries: Iterable[Entry],
    source: str = Source.GRID,
) -> DeclareResult:
    """Store a batch of one organisation's declarations for one day and check; all or
    nothing. A member of another organisation, or a bad value, refuses the whole batch with
    the reasons per member. A member declared twice for the same check is updated."""
    if source != Source.LINK:
        require(actor, DECLARE)
        org = get_visible(actor, Organisation.objects.select_related("area"), org.pk)
    check_day(org, day, slot)
    items = list(entries)
    by_member: dict[int, Entry] = {}
    for entry in items:
        by_member[int(entry.member_id)] = entry  # the last one typed wins
    members = {
        m.pk: m
        for m in Member.objects.filter(organisation=org, active=True, pk__in=list(by_member))
    }
    result = DeclareResult()
    cleaned: dict[int, dict[str, Any]] = {}
    for member_id, entry in by_member.items():
        if member_id not in members:
            # Another organisation's member, or none: not named, not stored.
            result.errors[member_id] = [_("No such member in this organisation.")]
            continue
        values, errors = _clean(entry, org.is_school)
        if errors:
            result.errors[member_id] = errors
        cleaned[member_id] = values
    if result.errors:
        return result
    now = timezone.now()
    book = anomalies.rule_book()
    threshold = anomalies.fever_threshold(book, org)
    actor_user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        existing = {
            d.member_id: d
            for d in Declaration.objects.select_for_update().filter(
                member_id__in=list(cleaned), day=day, slot=slot
            )
        }
        creates: list[Declaration] = []
        updates: list[Declaration] = []
        stored: list[Declaration] = []
        for member_id, values in cleaned.items():
            temperature = values["temperature"]
            fever = temperature is not None and temperature >= threshold
            row = existing.get(member_id)
            if row is None:
                row = Declaration(
                    organisation=org,
                    member_id=member_id,
                    day=day,
                    slot=slot,
                    fever=fever,
                    source=source,
                    entered_by=actor_user,
                    at=now,
                    **values,
                )
                creates.append(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.fever, row.source, row.entered_by, row.at = fever, source, actor_user, now
                updates.append(row)
            stored.append(row)
        Declaration.objects.bulk_create(creates, batch_size=500)
        if updates:
            Declaration.objects.bulk_update(
                updates,
                [
                    "temperature",
                    "symptoms",
                    "travel",
                    "contact_case",
                    "absence",
                    "absence_note",
                    "fever",
                    "source",
                    "entered_by",
                    "at",
                ],
                batch_size=500,
            )
        triggers = anomalies.triggers_for(book, org, day, stored, members, now)
        alerts = raise_alerts(triggers)
        audit.record(
            "reporting.declare",
            actor=actor,
            target=org,
            area=org.area,
            details={
                "day": day.isoformat(),
                "slot": slot,
                "source": source,
                "count": len(stored),
                "fevers": sum(1 for d in stored if d.fever),
            },
        )
    result.stored = len(stored)
    result.fevers = sum(1 for d in stored if d.fever)
    result.alerts = len(alerts)
    return result


def previous_values(org: Organisation, day: date, slot: int) -> dict[int, Declaration]:
    """Each member's latest declaration before this check (yesterday's, usually): what the
    grid is prefilled with. One query."""
    found: dict[int, Declaration] = {}
    earlier = (
        Declaration.objects.filter(
            organisation=org, day__gte=day - timedelta(days=BACKDATE_DAYS), day__lte=day
        )
        .exclude(day=day, slot__gte=slot)
        .order_by("member_id", "-day", "-slot")
    )
    for row in earlier:
        found.setdefault(row.member_id, row)
    return found


# --- the member's own link --------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(actor: Any, member: Member, days: int = LINK_DAYS) -> tuple[MemberLink, str]:
    """A new link for one member; the plaintext token is returned once. Earlier links of
    that member stop working."""
    require(actor, MANAGE_MEMBERS)
    member = get_visible(actor, Member.objects.select_related("organisation__area"), member.pk)
    if not member.active:
        raise ValidationError(_("This member has left the organisation."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        MemberLink.objects.filter(member=member, revoked_at__isnull=True).update(revoked_at=now)
        link = MemberLink.objects.create(
            member=member,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(days=max(1, min(days, 60))),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            "reporting.link_issue",
            actor=actor,
            target=member.organisation,
            area=member.organisation.area,
            details={"member": member.pk, "link": link.pk},
        )
    return link, token


class LinkInvalid(Exception):
    """The token matches no link (forged, mistyped): answered as 'not found'."""


class LinkExpired(Exception):
    """A real link that no longer works: expired, replaced, or the member has left."""


def resolve_link(token: str) -> MemberLink:
    if not _TOKEN_SHAPE.match(token or ""):
        raise LinkInvalid
    link = (
        MemberLink.objects.select_related("member__organisation__area")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        raise LinkInvalid
    if link.revoked_at is not None or timezone.now() >= link.expires_at or not link.member.active:
        raise LinkExpired
    return link


def current_slot(org: Organisation) -> int:
    if not org.is_school:
        return Slot.DAY
    return Slot.MORNING if timezone.localtime().hour < 12 else Slot.NOON


def declare_by_link(token: str, entry: Entry) -> DeclareResult:
    """The member's own declaration, without an account: the token is the only credential,
    and it names the member; whatever member the form claims is ignored."""
    link = resolve_link(token)
    member = link.member
    entry.member_id = member.pk
    entry.absence = ""
    org = member.organisation
    origin = audit.current_origin()
    with audit.origin("member", origin.ip, origin.user_agent):
        return declare(
            None, org, timezone.localdate(), current_slot(org), [entry], source=Source.LINK
        )


def own_declarations(link: MemberLink) -> list[Declaration]:
    today = timezone.localdate()
    return list(
        Declaration.objects.filter(member=link.member, day__gte=today - timedelta(days=6)).order_by(
            "-day", "-slot"
        )
    )
