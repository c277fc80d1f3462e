"""Video rounds (每天3个时段视频巡查): a town's plan has daily windows (default 08-10, 13-15,
19-21); a round is that window's work list of checkpoints, stepped through one by one with
the keyboard. Each stop ends as OK or with a finding (category, severity, note, the snapshot as
evidence), and a finding becomes a rectification order in the same transaction. Coverage
(checked / total) is kept on the round by `F()` updates; a round not finished by the end of
its window reads "not finished in its window" (`Round.state`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.permissions import Actor, require, require_area
from shouwang.patrol.models import (
    Checkpoint,
    Finding,
    FindingCategory,
    FindingSeverity,
    PatrolPlan,
    Round,
    RoundStop,
    Snapshot,
    StopResult,
)
from shouwang.patrol.perms import MANAGE_PLANS, WALK_ROUNDS
from shouwang.patrol.services import orders

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def parse_windows(raw: object) -> list[tuple[time, time]]:
    """["08:00", "10:00"] pairs, each starting before it ends, in order, not overlapping."""
    if not isinstance(raw, list) or not raw or len(raw) > 12:
        raise ValidationError({"windows": [_("Give between 1 and 12 time windows.")]})
    windows: list[tuple[time, time]] = []
    for pair in raw:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise ValidationError({"windows": [_("Each window is a start and an end, HH:MM.")]})
        bounds = []
        for text in pair:
            match = _HHMM.match(str(text).strip())
            if not match:
                raise ValidationError(
                    {"windows": [_("%(t)s is not a time (HH:MM).") % {"t": str(text)[:10]}]}
                )
            bounds.append(time(int(match[1]), int(match[2])))
        start, end = bounds
        if start >= end:
            raise ValidationError({"windows": [_("A window must start before it ends.")]})
        if windows and start < windows[-1][1]:
            raise ValidationError({"windows": [_("Windows must be in order and not overlap.")]})
        windows.append((start, end))
    return windows


def ensure_plan(actor: Actor, area: Area, windows: list[list[str]] | None = None) -> PatrolPlan:
    require(actor, MANAGE_PLANS)
    require_area(actor, area.path)
    with transaction.atomic():
        plan, created = PatrolPlan.objects.get_or_create(area=area)
        if windows is not None:
            parse_windows(windows)
            plan.windows = windows
            plan.save(update_fields=["windows"])
        if created or windows is not None:
            audit.record(
                "patrol.plan_set",
                actor=actor,
                target=plan,
                area=area,
                details={"windows": plan.windows},
            )
    return plan


def window_bounds(plan: PatrolPlan, day: date, window: int) -> tuple[datetime, datetime]:
    windows = parse_windows(plan.windows)
    if not 0 <= window < len(windows):
        raise Http404
    start, end = windows[window]
    return datetime.combine(day, start, zone()), datetime.combine(day, end, zone())


def current_window(plan: PatrolPlan, now: datetime | None = None) -> int | None:
    local = (now or timezone.now()).astimezone(zone()).time()
    for index, (start, end) in enumerate(parse_windows(plan.windows)):
        if start <= local < end:
            return index
    return None


def plan_checkpoints(plan: PatrolPlan) -> list[Checkpoint]:
    """The plan's chosen checkpoints, or every checkpoint of the town with a camera in use."""
    chosen = list(plan.checkpoints.filter(active=True).order_by("area__path", "name", "pk"))
    if chosen:
        return chosen
    return list(
        Checkpoint.objects.filter(
            area__path__startswith=plan.area.path, active=True, cameras__active=True
        )
        .distinct()
        .order_by("area__path", "name", "pk")
    )


def open_round(actor: Actor, plan: PatrolPlan, day: date, window: int) -> Round:
    """The window's round, created with its work list on first opening (twice, or by two
    operators at once: the same round)."""
    require(actor, WALK_ROUNDS)
    require_area(actor, plan.area.path)
    starts_at, ends_at = window_bounds(plan, day, window)
    existing = Round.objects.filter(plan=plan, day=day, window=window).first()
    if existing is not None:
        return existing
    checkpoints = plan_checkpoints(plan)
    try:
        with transaction.atomic():
            round_ = Round.objects.create(
                plan=plan,
                day=day,
                window=window,
                starts_at=starts_at,
                ends_at=ends_at,
                started_at=timezone.now(),
                started_by=actor,
                total=len(checkpoints),
            )
            RoundStop.objects.bulk_create(
                RoundStop(round=round_, checkpoint=c, position=n) for n, c in enumerate(checkpoints)
            )
            audit.record(
                "patrol.round_open",
                actor=actor,
                target=round_,
                area=plan.area,
                details={"day": day.isoformat(), "window": window, "stops": len(checkpoints)},
            )
    except IntegrityError:
        return Round.objects.get(plan=plan, day=day, window=window)
    return round_


def next_stop(round_: Round, after: int | None = None) -> RoundStop | None:
    """The next stop still to check after position `after` (from the start, wrapping)."""
    pending = RoundStop.objects.filter(round=round_, result=StopResult.PENDING)
    if after is not None:
        later = pending.filter(position__gt=after).order_by("position").first()
        if later is not None:
            return later
    return pending.order_by("position").first()


def _check(actor: Actor, stop: RoundStop, result: str) -> RoundStop | None:
    """Mark a pending stop; None if it was already checked (a double key press, a second
    operator): the first answer stands."""
    require(actor, WALK_ROUNDS)
    round_ = stop.round
    require_area(actor, round_.plan.area.path)
    now = timezone.now()
    done = RoundStop.objects.filter(pk=stop.pk, result=StopResult.PENDING).update(
        result=result, checked_at=now, checked_by=actor
    )
    if not done:
        return None
    Round.objects.filter(pk=round_.pk).update(checked=F("checked") + 1)
    Round.objects.filter(pk=round_.pk, finished_at__isnull=True, checked__gte=F("total")).update(
        finished_at=now
    )
    stop.refresh_from_db()
    return stop


def mark_ok(actor: Actor, stop: RoundStop) -> bool:
    with transaction.atomic():
        return _check(actor, stop, StopResult.OK) is not None


@dataclass
class FindingData:
    category: str
    severity: int = FindingSeverity.MINOR
    note: str = ""
    evidence: Snapshot | None = None


def _clean(data: FindingData, checkpoint: Checkpoint) -> FindingData:
    if data.category not in FindingCategory.values:
        raise ValidationError({"category": [_("Choose what is wrong.")]})
    if data.severity not in FindingSeverity.values:
        raise ValidationError({"severity": [_("Choose how serious it is.")]})
    note = " ".join((data.note or "").split())[:500]
    if data.category == FindingCategory.OTHER and not note:
        raise ValidationError({"note": [_("Say what is wrong.")]})
    if data.evidence is not None and data.evidence.camera.checkpoint_id != checkpoint.pk:
        raise ValidationError({"evidence": [_("That snapshot is not of this checkpoint.")]})
    return FindingData(data.category, data.severity, note, data.evidence)


def record_finding(actor: Actor, stop: RoundStop, data: FindingData) -> Finding | None:
    """The stop ends with a finding, the snapshot on screen as its evidence, and the finding
    goes to the community as a rectification order, all in one transaction. None when the stop
    was already checked."""
    checkpoint = stop.checkpoint
    data = _clean(data, checkpoint)
    with transaction.atomic():
        if _check(actor, stop, StopResult.FINDING) is None:
            return None
        finding = Finding.objects.create(
            checkpoint=checkpoint,
            stop=stop,
            category=data.category,
            severity=data.severity,
            note=data.note,
            evidence=data.evidence,
            found_at=timezone.now(),
            found_by=actor,
        )
        audit.record(
            "patrol.finding",
            actor=actor,
            target=finding,
            area=checkpoint.area,
            details={"category": data.category, "severity": data.severity},
        )
        orders.issue(actor, finding)
    return finding


def todays_rounds(plan: PatrolPlan, day: date) -> list[tuple[int, time, time, Round | None]]:
    found = {r.window: r for r in Round.objects.filter(plan=plan, day=day)}
    return [
        (n, start, end, found.get(n)) for n, (start, end) in enumerate(parse_windows(plan.windows))
    ]


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone()).date()
