"""Which declarations become alerts, in the organisation's area: a temperature at or above the
threshold, any listed symptom, contact with a confirmed case, travel through a risk area while
it was at risk, and a cluster (N members of one organisation with fever within D days).

Called by `declarations.declare` inside its transaction; the settings are the alert kinds'
(`reporting.alert_kinds`), inherited down the area tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from shouwang.alerts.rules import RuleBook
from shouwang.alerts.services.alerting import Trigger
from shouwang.reporting import alert_kinds as kinds
from shouwang.reporting.models import Declaration, Member, Organisation

KINDS = (
    kinds.REPORTING_FEVER,
    kinds.REPORTING_SYMPTOMS,
    kinds.REPORTING_TRAVEL,
    kinds.REPORTING_CONTACT,
    kinds.REPORTING_CLUSTER,
)
TRAVEL_WINDOW = 14


def rule_book() -> RuleBook:
    return RuleBook(KINDS)


def fever_threshold(book: RuleBook, org: Organisation) -> Decimal:
    return Decimal(str(book.resolve(kinds.REPORTING_FEVER, org.area.path).params["threshold"]))


def risk_areas_hit(areas: Sequence[Any], travel: str, day: date) -> list[str]:
    """The risk areas named in `travel` that were at risk during the 14 days before `day`."""
    hits = []
    text = "".join(travel.split())
    for area in areas:
        try:
            name = str(area["name"]).strip()
            start = date.fromisoformat(str(area.get("from") or "1900-01-01"))
            until = date.fromisoformat(str(area.get("until") or "9999-12-31"))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed setting names nothing, rather than failing a declaration
        if name and name in text and start <= day and until >= day - timedelta(TRAVEL_WINDOW):
            hits.append(name)
    return hits


def triggers_for(
    book: RuleBook,
    org: Organisation,
    day: date,
    stored: Sequence[Declaration],
    members: dict[int, Member],
    now: datetime,
) -> list[Trigger]:
    path = org.area.path
    fever = book.resolve(kinds.REPORTING_FEVER, path)
    symptoms = book.resolve(kinds.REPORTING_SYMPTOMS, path)
    travel = book.resolve(kinds.REPORTING_TRAVEL, path)
    contact = book.resolve(kinds.REPORTING_CONTACT, path)
    cluster = book.resolve(kinds.REPORTING_CLUSTER, path)
    found: list[Trigger] = []

    def add(kind: str, severity: Any, member: Member, title: str, data: dict[str, Any]) -> None:
        found.append(
            Trigger(
                kind=kind,
                subject=f"member:{member.pk}",
                at=now,
                title=f"{org.name} {member.masked_name} {title}".strip()[:200],
                area=org.area,
                severity=severity,
                data={"organisation": org.pk, "member": member.pk, "day": day.isoformat(), **data},
            )
        )

    for row in stored:
        member = members[row.member_id]
        if row.fever and fever.enabled:
            add(
                kinds.REPORTING_FEVER,
                fever.severity,
                member,
                f"{row.temperature}°C",
                {"temperature": str(row.temperature)},
            )
        if row.symptoms and symptoms.enabled:
            add(
                kinds.REPORTING_SYMPTOMS,
                symptoms.severity,
                member,
                _("symptoms"),
                {"symptoms": list(row.symptoms)},
            )
        if row.contact_case and contact.enabled:
            add(kinds.REPORTING_CONTACT, contact.severity, member, _("contact with a case"), {})
        if row.travel and travel.enabled:
            hits = risk_areas_hit(travel.params.get("areas") or [], row.travel, day)
            if hits:
                add(
                    kinds.REPORTING_TRAVEL,
                    travel.severity,
                    member,
                    "、".join(hits),
                    {"areas": hits},
                )
    if cluster.enabled and any(row.fever for row in stored):
        days = max(1, int(cluster.params.get("days", 3)))
        needed = max(2, int(cluster.params.get("members", 3)))
        feverish = (
            Declaration.objects.filter(
                organisation=org, fever=True, day__gt=day - timedelta(days=days), day__lte=day
            )
            .values("member_id")
            .distinct()
            .count()
        )
        if feverish >= needed:
            found.append(
                Trigger(
                    kind=kinds.REPORTING_CLUSTER,
                    subject=f"organisation:{org.pk}",
                    at=now,
                    title=_("%(org)s: %(n)d members with fever within %(d)d days")
                    % {"org": org.name, "n": feverish, "d": days},
                    area=org.area,
                    severity=cluster.severity,
                    data={"organisation": org.pk, "members": feverish, "day": day.isoformat()},
                )
            )
    return found
