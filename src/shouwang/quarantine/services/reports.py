"""What a worker needs each morning, the per-community statistics, and the Excel export of case
lists. Reads only; every query is scoped with `visible_to` by the caller's queryset."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules as alert_rules
from shouwang.alerts.models import Alert, AlertStatus
from shouwang.core.models import Area, AreaKind, Person
from shouwang.core.permissions import require
from shouwang.core.services.areas import address_of, ancestor_names, household_address
from shouwang.core.services.exports import PersonalExport, clean_reason
from shouwang.devices.models import Device, DeviceStatus
from shouwang.quarantine import alert_kinds as kinds
from shouwang.quarantine.models import CareEnrolment, Case, CaseMember, CaseStatus, HealthCheck
from shouwang.quarantine.perms import EXPORT_CASES, VIEW_CASES
from shouwang.quarantine.services.health import deadlines_for, local_zone

CASE_ALERT_KINDS = (
    "quarantine_door_open",
    kinds.HEALTH_CHECK_MISSED,
    kinds.FEVER,
    "care_inactivity",
)


@dataclass
class Missing:
    case: Case
    member: CaseMember
    day: date
    slot: int


@dataclass
class Morning:
    today: date
    ending_today: list[Case] = field(default_factory=list)
    to_recover: list[Case] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    open_alerts: list[Alert] = field(default_factory=list)
    active: int = 0


def morning(actor: Any, now: datetime | None = None) -> Morning:
    """Cases ending today, sensors to take back, checks missing (the latest due slot), open
    alerts about cases and care watches. A fixed number of queries however many cases."""
    require(actor, VIEW_CASES)
    now = now or timezone.now()
    today = now.astimezone(local_zone()).date()
    cases = Case.objects.visible_to(actor).select_related("area", "household__area", "device")
    report = Morning(today=today)
    active = list(cases.filter(status=CaseStatus.ACTIVE).order_by("planned_end", "pk"))
    report.active = len(active)
    report.ending_today = [c for c in active if c.planned_end <= today]
    report.to_recover = list(
        cases.filter(
            recovery_due__lte=today, recovered_at__isnull=True, device__isnull=False
        ).order_by("recovery_due", "pk")
    )
    # Missing checks: per case, the latest slot already due today (the area's deadlines).
    if active:
        book = alert_rules.RuleBook([kinds.HEALTH_CHECK_MISSED])
        members = list(
            CaseMember.objects.filter(case__in=active).select_related("person").order_by("pk")
        )
        done = set(
            HealthCheck.objects.filter(case__in=active, day=today).values_list(
                "case_id", "person_id", "slot"
            )
        )
        by_case = {c.pk: c for c in active}
        for member in members:
            case = by_case[member.case_id]
            deadlines = deadlines_for(book, case)
            due_slot: int | None = None
            for slot in (HealthCheck.Slot.MORNING, HealthCheck.Slot.AFTERNOON):
                deadline = deadlines.deadline(today, slot)
                if case.started_at < deadline <= now:
                    due_slot = int(slot)
            if due_slot is None or case.starts_on > today:
                continue
            if (case.pk, member.person_id, due_slot) not in done:
                report.missing.append(Missing(case, member, today, due_slot))
    report.open_alerts = list(
        Alert.objects.visible_to(actor)
        .filter(kind__in=CASE_ALERT_KINDS)
        .exclude(status=AlertStatus.RESOLVED)
        .order_by("-last_occurred_at")[:100]
    )
    return report


@dataclass
class WorkerNow:
    """The home page of a worker: what needs them now, with the morning report's lists."""

    morning: Morning
    open_alerts: int = 0
    latest_alerts: list[Alert] = field(default_factory=list)
    to_install: list[Case] = field(default_factory=list)
    care_to_install: int = 0


def worker_now(actor: Any, now: datetime | None = None) -> WorkerNow:
    """The morning report, plus every open alert in the actor's areas (not only the cases'),
    and the active cases still without a door sensor. A fixed number of queries."""
    report = morning(actor, now)
    open_alerts = Alert.objects.visible_to(actor).exclude(status=AlertStatus.RESOLVED)
    return WorkerNow(
        morning=report,
        open_alerts=open_alerts.count(),
        latest_alerts=list(open_alerts.order_by("-last_occurred_at", "-pk")[:5]),
        to_install=list(
            Case.objects.visible_to(actor)
            .filter(status=CaseStatus.ACTIVE, device__isnull=True, household__isnull=False)
            .select_related("area", "household__area")
            .order_by("starts_on", "pk")
        ),
        care_to_install=CareEnrolment.objects.visible_to(actor)
        .filter(ended_at__isnull=True, device__isnull=True)
        .count(),
    )


@dataclass
class CommunityStats:
    community: Area
    active: int = 0
    started: dict[date, int] = field(default_factory=dict)
    ended: dict[date, int] = field(default_factory=dict)
    installed: int = 0
    in_stock: int = 0
    offline: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    checks_done: int = 0
    checks_due: int = 0

    @property
    def completion(self) -> float | None:
        return round(100 * self.checks_done / self.checks_due, 1) if self.checks_due else None


def _community_path(path: str, communities: dict[str, Area]) -> str | None:
    for end in range(4, len(path) + 1, 4):
        if path[:end] in communities:
            return path[:end]
    return None


def community_stats(actor: Any, days: int = 7, now: datetime | None = None) -> list[CommunityStats]:
    """Per visible community: active cases, started and ended per day over `days` days, sensors
    installed / in stock / offline, alerts by outcome, and the health-check completion rate of
    active cases (checks in ÷ slots due so far)."""
    require(actor, VIEW_CASES)
    now = now or timezone.now()
    zone = local_zone()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    communities = {
        a.path: a
        for a in Area.objects.visible_to(actor).filter(kind=AreaKind.COMMUNITY).order_by("path")
    }
    stats = {path: CommunityStats(area) for path, area in communities.items()}
    if not stats:
        return []
    days_list = [first + timedelta(days=i) for i in range(days)]
    for s in stats.values():
        s.started = dict.fromkeys(days_list, 0)
        s.ended = dict.fromkeys(days_list, 0)
    cases = Case.objects.visible_to(actor).select_related("area")
    active_cases = []
    for case in cases.filter(
        Q(status=CaseStatus.ACTIVE)
        | Q(starts_on__gte=first)
        | Q(ended_at__gte=now - timedelta(days=days))
    ):
        path = _community_path(case.area.path, communities)
        if path is None:
            continue
        entry = stats[path]
        if case.status == CaseStatus.ACTIVE:
            entry.active += 1
            active_cases.append((case, entry))
        if case.starts_on in entry.started:
            entry.started[case.starts_on] += 1
        if case.ended_at is not None:
            ended_on = case.ended_at.astimezone(zone).date()
            if ended_on in entry.ended:
                entry.ended[ended_on] += 1
    for path, status, offline, n in (
        Device.objects.visible_to(actor)
        .filter(area__isnull=False)
        .values_list("area__path", "status", "offline")
        .annotate(n=Count("pk"))
    ):
        community = _community_path(path, communities)
        if community is None:
            continue
        entry = stats[community]
        if status == DeviceStatus.INSTALLED:
            entry.installed += n
            if offline:
                entry.offline += n
        elif status in (DeviceStatus.IN_STOCK, DeviceStatus.RECOVERED):
            entry.in_stock += n
    for path, outcome, n in (
        Alert.objects.visible_to(actor)
        .filter(area__isnull=False, opened_at__gte=now - timedelta(days=days))
        .values_list("area__path", "outcome")
        .annotate(n=Count("pk"))
    ):
        community = _community_path(path, communities)
        if community is None:
            continue
        key = outcome or "unresolved"
        stats[community].outcomes[key] = stats[community].outcomes.get(key, 0) + n
    if active_cases:
        done: dict[int, int] = defaultdict(int)
        # A slot counts once however many readings it holds (a fever is measured again).
        for case_id, _person, _day, _slot in (
            HealthCheck.objects.filter(case__in=[c for c, _e in active_cases])
            .values_list("case_id", "person_id", "day", "slot")
            .distinct()
            .order_by()
        ):
            done[case_id] += 1
        for case, entry in active_cases:
            slots = max(0, ((today - case.starts_on).days + 1) * 2)
            entry.checks_due += slots * case.people_count
            entry.checks_done += min(done[case.pk], slots * case.people_count)
    return list(stats.values())


# --- export -------------------------------------------------------------------------------


def export_cases(
    actor: Any, cases: QuerySet[Case], unmasked: bool = False, reason: str = ""
) -> bytes:
    """An .xlsx of cases, one row per person; masked unless the actor may reveal and asked
    for full values with a reason. Audited with the count, like the residents' export."""
    require(actor, EXPORT_CASES)
    clean_reason(unmasked, reason)
    rows = list(
        cases.select_related("area", "household", "device").prefetch_related("members__person")
    )
    names = ancestor_names(list({c.area.pk: c.area for c in rows}.values()))
    export = PersonalExport(actor, "居家隔离", unmasked, reason)
    export.append(
        [
            _("Case"),
            _("Name"),
            _("ID number"),
            _("Phone"),
            _("Address"),
            _("Source"),
            _("Start date"),
            _("Planned end"),
            _("Status"),
            _("Sensor"),
        ]
    )
    count = 0
    for case in rows:
        address = (
            household_address(case.household, names)
            if case.household
            else address_of(case.area, names)
        )
        members: list[Person | None] = [m.person for m in case.members.all()] or [None]
        for person in members:
            count += 1
            export.append(
                [
                    case.pk,
                    *export.person_cells(person),
                    address,
                    str(case.get_source_display()),
                    case.starts_on.isoformat(),
                    case.planned_end.isoformat(),
                    str(case.get_status_display()),
                    str(case.device) if case.device else "",
                ]
            )
    return export.finish("quarantine.export", {"cases": len(rows), "rows": count})
