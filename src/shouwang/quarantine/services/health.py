"""Health checks twice a day, entered by a worker or by the resident through a personal link,
and the alerts they raise: a temperature at or above the threshold (at once), a check not in
by the end of its window (periodic task, derived from the database each run).

The resident's link is a random token (256 bits) of which only the SHA-256 is stored. It
reaches one person's check-in in one case, expires with the case (at its end, or the end of
its planned last day), and can be revoked; a new link revokes the previous one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules as alert_rules
from shouwang.alerts.models import Alert, AlertStatus
from shouwang.alerts.services.alerting import Trigger, clear, raise_alerts
from shouwang.core import audit, readings
from shouwang.core.models import Person
from shouwang.core.permissions import require, require_area
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.quarantine import alert_kinds as kinds
from shouwang.quarantine.models import Case, CaseMember, CaseStatus, HealthCheck, ResidentLink
from shouwang.quarantine.perms import MANAGE_CASES

SYMPTOMS = readings.SYMPTOMS
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Deadlines:
    morning_until: time
    afternoon_until: time

    def slot_at(self, local: datetime) -> int:
        """The slot a check entered at this local time counts for (late ones count for the
        afternoon)."""
        return HealthCheck.Slot.MORNING if local.time() < self.morning_until else 1

    def deadline(self, day: date, slot: int) -> datetime:
        until = self.morning_until if slot == HealthCheck.Slot.MORNING else self.afternoon_until
        return datetime.combine(day, until, local_zone())


def deadlines_for(book: alert_rules.RuleBook, case: Case) -> Deadlines:
    params = book.resolve(kinds.HEALTH_CHECK_MISSED, case.area.path, case.household_id).params
    return Deadlines(
        kinds.parse_time(params["morning_until"]), kinds.parse_time(params["afternoon_until"])
    )


def parse_temperature(text: Any) -> Decimal:
    try:
        return readings.parse_temperature(text)
    except ValidationError as exc:
        raise ValidationError({"temperature": exc.messages}) from exc


def _member(case: Case, person: Person) -> None:
    if not CaseMember.objects.filter(case=case, person=person).exists():
        raise ValidationError(_("This person is not part of this case."))


def _record_check(
    case: Case,
    person: Person,
    temperature: Any,
    symptoms: Iterable[str],
    actor: Any,
    by_resident: bool,
) -> HealthCheck:
    value = parse_temperature(temperature)
    chosen = sorted(set(symptoms))
    unknown = [s for s in chosen if s not in SYMPTOMS]
    if unknown:
        raise ValidationError({"symptoms": [_("Unknown symptom.")]})
    if not case.is_active:
        raise ValidationError(_("This case has ended."))
    now = timezone.now()
    local = now.astimezone(local_zone())
    book = alert_rules.RuleBook([kinds.HEALTH_CHECK_MISSED, kinds.FEVER])
    slot = deadlines_for(book, case).slot_at(local)
    fever = book.resolve(kinds.FEVER, case.area.path, case.household_id, person.pk)
    is_fever = value >= Decimal(str(fever.params["threshold"]))
    # Every reading is kept, several in one slot too: a second fever reading in the same
    # half-day must alert again (it adds an occurrence to the open fever alert).
    with transaction.atomic():
        check = HealthCheck.objects.create(
            case=case,
            person=person,
            day=local.date(),
            slot=slot,
            temperature=value,
            symptoms=chosen,
            fever=is_fever,
            by_resident=by_resident,
            entered_by=actor if getattr(actor, "pk", None) else None,
            at=now,
        )
        clear(
            f"person:{person.pk}",
            kinds.HEALTH_CHECK_MISSED,
            now,
            _("Health check entered"),
        )
        if is_fever and fever.enabled:
            names = ancestor_names([case.area])
            household = case.household
            where = household_address(household, names) if household else ""
            raise_alerts(
                [
                    Trigger(
                        kind=kinds.FEVER,
                        subject=f"person:{person.pk}",
                        at=now,
                        title=f"{where} {person.masked_name} {value}°C".strip(),
                        area=case.area,
                        severity=fever.severity,
                        household=household,
                        person=person,
                        data={"case": case.pk, "temperature": str(value)},
                    )
                ]
            )
        audit.record(
            "quarantine.health_check",
            actor=actor,
            target=case,
            area=case.area,
            details={
                "person": person.pk,
                "slot": slot,
                "by_resident": by_resident,
                "fever": is_fever,
            },
        )
    return check


def enter_check(
    actor: Any, case: Case, person: Person, temperature: Any, symptoms: Iterable[str] = ()
) -> HealthCheck:
    """A worker enters a check (a call, a visit at the door)."""
    require(actor, MANAGE_CASES)
    require_area(actor, case.area.path)
    _member(case, person)
    return _record_check(case, person, temperature, symptoms, actor, by_resident=False)


# --- the resident's link ----------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(actor: Any, case: Case, person: Person) -> tuple[ResidentLink, str]:
    """A new link for one person of an active case; the plaintext token is returned once.
    Earlier links of that person in that case stop working."""
    require(actor, MANAGE_CASES)
    require_area(actor, case.area.path)
    _member(case, person)
    if not case.is_active:
        raise ValidationError(_("This case has ended."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        ResidentLink.objects.filter(case=case, person=person, revoked_at__isnull=True).update(
            revoked_at=now
        )
        link = ResidentLink.objects.create(
            case=case,
            person=person,
            token_hash=hash_token(token),
            created_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            "quarantine.link_issue",
            actor=actor,
            target=case,
            area=case.area,
            details={"person": person.pk, "link": link.pk},
        )
    return link, token


def revoke_link(actor: Any, link: ResidentLink) -> ResidentLink:
    require(actor, MANAGE_CASES)
    require_area(actor, link.case.area.path)
    if link.revoked_at is not None:
        return link
    with transaction.atomic():
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit.record(
            "quarantine.link_revoke",
            actor=actor,
            target=link.case,
            area=link.case.area,
            details={"person": link.person_id, "link": link.pk},
        )
    return link


class LinkInvalid(Exception):
    """The token matches no link (forged, mistyped): answered as 'not found'."""


class LinkExpired(Exception):
    """A real link that no longer works: revoked, or its case has ended."""


def link_expires_at(case: Case) -> datetime:
    """The end of the planned last day, local time (or when the case ended)."""
    end = datetime.combine(case.planned_end + timedelta(days=1), time(0), local_zone())
    return min(end, case.ended_at) if case.ended_at else end


def resolve_link(token: str) -> ResidentLink:
    if not _TOKEN_SHAPE.match(token or ""):
        raise LinkInvalid
    link = (
        ResidentLink.objects.select_related("case__area", "case__household", "person")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        raise LinkInvalid
    case = link.case
    if (
        link.revoked_at is not None
        or case.status != CaseStatus.ACTIVE
        or timezone.now() >= link_expires_at(case)
    ):
        raise LinkExpired
    return link


def submit_by_link(token: str, temperature: Any, symptoms: Iterable[str] = ()) -> HealthCheck:
    """The resident's own check-in, without an account: the token is the only credential."""
    link = resolve_link(token)
    with audit.origin("resident", audit.current_origin().ip, audit.current_origin().user_agent):
        return _record_check(link.case, link.person, temperature, symptoms, None, by_resident=True)


def checks_today(link: ResidentLink) -> list[HealthCheck]:
    today = timezone.localdate()
    return list(
        HealthCheck.objects.filter(case=link.case, person=link.person, day=today).order_by("at")
    )


# --- missed checks (periodic) -----------------------------------------------------------


def check_missed(now: datetime | None = None) -> list[Alert]:
    """Alert for each person of an active case whose last due check is not in. Looks at the
    slots due today and yesterday only: older ones were alerted (or not) back then."""
    now = now or timezone.now()
    zone = local_zone()
    today = now.astimezone(zone).date()
    cases = list(
        Case.objects.filter(status=CaseStatus.ACTIVE, starts_on__lte=today).select_related(
            "area", "household"
        )
    )
    if not cases:
        return []
    members = list(
        CaseMember.objects.filter(case__in=cases).select_related("person").order_by("pk")
    )
    done = set(
        HealthCheck.objects.filter(case__in=cases, day__gte=today - timedelta(days=1)).values_list(
            "case_id", "person_id", "day", "slot"
        )
    )
    subjects = [f"person:{m.person_id}" for m in members]
    already = dict(
        Alert.objects.filter(kind=kinds.HEALTH_CHECK_MISSED, subject__in=subjects)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("subject", "last_occurred_at")
    )
    book = alert_rules.RuleBook([kinds.HEALTH_CHECK_MISSED])
    by_case = {c.pk: c for c in cases}
    names = ancestor_names(list({c.area.pk: c.area for c in cases}.values()))
    triggers: list[Trigger] = []
    for member in members:
        case = by_case[member.case_id]
        setting = book.resolve(
            kinds.HEALTH_CHECK_MISSED, case.area.path, case.household_id, member.person_id
        )
        if not setting.enabled:
            continue
        deadlines = Deadlines(
            kinds.parse_time(setting.params["morning_until"]),
            kinds.parse_time(setting.params["afternoon_until"]),
        )
        # The latest slot whose deadline has passed, within the case's days and after it
        # started (a case opened at 15:00 owes no morning check that day).
        latest: tuple[date, int, datetime] | None = None
        for day in (today - timedelta(days=1), today):
            if not case.starts_on <= day <= case.planned_end:
                continue
            for slot in (HealthCheck.Slot.MORNING, HealthCheck.Slot.AFTERNOON):
                deadline = deadlines.deadline(day, slot)
                if case.started_at < deadline <= now:
                    latest = (day, int(slot), deadline)
        if latest is None:
            continue
        day, due_slot, deadline = latest
        if (case.pk, member.person_id, day, due_slot) in done:
            continue
        subject = f"person:{member.person_id}"
        if subject in already and already[subject] >= deadline:
            continue
        where = household_address(case.household, names) if case.household else ""
        triggers.append(
            Trigger(
                kind=kinds.HEALTH_CHECK_MISSED,
                subject=subject,
                at=now,
                title=f"{where} {member.person.masked_name}".strip(),
                area=case.area,
                severity=setting.severity,
                household=case.household,
                person=member.person,
                data={"case": case.pk, "day": day.isoformat(), "slot": due_slot},
            )
        )
    with transaction.atomic():
        return raise_alerts(triggers)
