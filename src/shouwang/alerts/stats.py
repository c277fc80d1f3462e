"""How quickly alerts are handled: time to acknowledge, to call the resident, to a person at
the door (上门) and to resolve (median and p90) per community, per compound and per worker, and
counts per kind and per outcome, over a period.

Time to call runs from the opening to the first call made through the alert; time to the door
to the arrival recorded on it (`alerting.record_call`, `alerting.record_arrival`).

A period holds the alerts *opened* in it. Time to acknowledge counts every alert a person
acknowledged (resolving without acknowledging first counts as acknowledging then); time to
resolve counts the alerts a person resolved. Alerts the system cleared by itself (a sensor back
online) appear under their outcome but not in the timings: nobody handled them.

Four queries whatever the number of alerts: the alerts' few columns, the communities and the
compounds above them, the workers' names. The caller scopes the queryset
(`Alert.objects.visible_to(user)`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from shouwang.alerts.models import Alert, AlertStatus, Outcome, Severity
from shouwang.alerts.rules import KINDS
from shouwang.core.models import Area, AreaKind

STEP = 4  # treebeard's path step


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's
    default, "inclusive"); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def duration_text(seconds: float | None) -> str:
    """As "1:05" (minutes:seconds) or "2:01:05" (hours:minutes:seconds); "—" for none."""
    if seconds is None:
        return "—"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class Timing:
    """Seconds: how many, the median and the 90th percentile."""

    seconds: list[float] = field(default_factory=list)

    def add(self, start: datetime, end: datetime | None) -> None:
        if end is not None:
            self.seconds.append(max(0.0, (end - start).total_seconds()))

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float | None:
        return percentile(self.seconds, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.seconds, 90)

    @property
    def median_text(self) -> str:
        return duration_text(self.median)

    @property
    def p90_text(self) -> str:
        return duration_text(self.p90)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_seconds": self.median, "p90_seconds": self.p90}


@dataclass
class Group:
    """One row of a table: a community or a worker."""

    key: int | str
    name: str
    alerts: int = 0
    acknowledge: Timing = field(default_factory=Timing)
    resolve: Timing = field(default_factory=Timing)
    call: Timing = field(default_factory=Timing)
    door: Timing = field(default_factory=Timing)


@dataclass
class Measures:
    start: datetime
    end: datetime
    total: int = 0
    communities: list[Group] = field(default_factory=list)
    compounds: list[Group] = field(default_factory=list)
    workers: list[Group] = field(default_factory=list)
    acknowledge: Timing = field(default_factory=Timing)
    resolve: Timing = field(default_factory=Timing)
    call: Timing = field(default_factory=Timing)
    door: Timing = field(default_factory=Timing)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[int] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def kind_rows(self) -> list[tuple[str, str, int]]:
        return [
            (kind, str(KINDS[kind].label) if kind in KINDS else kind, n)
            for kind, n in self.by_kind.most_common()
        ]

    def outcome_rows(self) -> list[tuple[str, str, int]]:
        labels = dict(Outcome.choices)
        return [
            (outcome, str(labels.get(outcome, outcome)), n)
            for outcome, n in self.by_outcome.most_common()
        ]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day (settings.TIME_ZONE) as an aware [start, end)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def _areas_above(paths: Iterable[str], kind: int) -> dict[str, Area]:
    """The areas of `kind` at or above the given paths, by path: one query."""
    prefixes = {p[:end] for p in paths for end in range(STEP, len(p) + 1, STEP)}
    if not prefixes:
        return {}
    return {a.path: a for a in Area.objects.filter(path__in=prefixes, kind=kind)}


def _communities(paths: Iterable[str]) -> dict[str, Area]:
    return _areas_above(paths, AreaKind.COMMUNITY)


def _community_of(path: str, communities: dict[str, Area]) -> Area | None:
    for end in range(len(path), 0, -STEP):
        found = communities.get(path[:end])
        if found is not None:
            return found
    return None


def measure(alerts: QuerySet[Alert], start: datetime, end: datetime) -> Measures:
    """The measures of the alerts in `alerts` opened in [start, end)."""
    rows = list(
        alerts.filter(opened_at__gte=start, opened_at__lt=end)
        .order_by()
        .values_list(
            "area__path",
            "kind",
            "severity",
            "status",
            "opened_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "outcome",
            "called_at",
            "arrived_at",
        )
    )
    result = Measures(start=start, end=end, total=len(rows))
    paths = {r[0] for r in rows if r[0]}
    communities = _communities(paths)
    compounds = _areas_above(paths, AreaKind.COMPOUND)
    by_community: dict[int | str, Group] = {}
    by_compound: dict[int | str, Group] = {}
    by_worker: dict[int, Group] = {}

    def worker(user_id: int) -> Group:
        return by_worker.setdefault(user_id, Group(key=user_id, name=""))

    for (
        path,
        kind,
        severity,
        status,
        opened,
        acked,
        acked_by,
        resolved,
        resolved_by,
        outcome,
        called,
        arrived,
    ) in rows:
        result.by_kind[kind] += 1
        result.by_severity[severity] += 1
        result.by_status[status] += 1
        if outcome:
            result.by_outcome[outcome] += 1
        community = _community_of(path or "", communities)
        key: int | str = community.pk if community is not None else ""
        group = by_community.setdefault(
            key, Group(key=key, name=community.name if community is not None else "")
        )
        group.alerts += 1
        compound = _community_of(path or "", compounds)
        ckey: int | str = compound.pk if compound is not None else ""
        place = by_compound.setdefault(
            ckey, Group(key=ckey, name=compound.name if compound is not None else "")
        )
        place.alerts += 1
        for timing in (result.call, group.call, place.call):
            timing.add(opened, called)
        for timing in (result.door, group.door, place.door):
            timing.add(opened, arrived)
        if acked is not None and acked_by is not None:
            place.acknowledge.add(opened, acked)
            for timing in (result.acknowledge, group.acknowledge, worker(acked_by).acknowledge):
                timing.add(opened, acked)
        if resolved is not None and resolved_by is not None and status == AlertStatus.RESOLVED:
            place.resolve.add(opened, resolved)
            for timing in (result.resolve, group.resolve, worker(resolved_by).resolve):
                timing.add(opened, resolved)
        if acked_by is not None:
            worker(acked_by).alerts += 1
        elif resolved_by is not None:
            worker(resolved_by).alerts += 1
    if by_worker:
        names = {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=list(by_worker))}
        for user_id, group in by_worker.items():
            group.name = names.get(user_id, str(user_id))
    result.communities = sorted(by_community.values(), key=lambda g: (g.name == "", g.name))
    result.compounds = sorted(by_compound.values(), key=lambda g: (g.name == "", g.name))
    result.workers = sorted(by_worker.values(), key=lambda g: g.name)
    return result


def daily_summary(day: date, area: Area | None) -> dict[str, Any]:
    """The alerts of one local day at or below `area` (None: everywhere), as plain data for
    the dashboard and the daily report. Codes, not labels: the reader translates them."""
    start, end = day_bounds(day)
    alerts = Alert.objects.all()
    if area is not None:
        alerts = alerts.filter(area__path__startswith=area.path)
    found = measure(alerts, start, end)
    severities = {s.value: s.name.lower() for s in Severity}
    return {
        "date": day.isoformat(),
        "area_id": area.pk if area is not None else None,
        "area_name": area.name if area is not None else "",
        "opened": found.total,
        "acknowledged": found.acknowledge.count,
        "resolved": found.by_status.get(AlertStatus.RESOLVED, 0),
        "unresolved": found.total - found.by_status.get(AlertStatus.RESOLVED, 0),
        "unacknowledged": found.by_status.get(AlertStatus.OPEN, 0),
        "by_kind": dict(found.by_kind.most_common()),
        "by_outcome": dict(found.by_outcome.most_common()),
        "by_severity": {severities.get(s, str(s)): n for s, n in sorted(found.by_severity.items())},
        "time_to_acknowledge": found.acknowledge.as_dict(),
        "time_to_call": found.call.as_dict(),
        "time_to_door": found.door.as_dict(),
        "time_to_resolve": found.resolve.as_dict(),
        "communities": [
            {
                "area_id": g.key or None,
                "name": g.name,
                "alerts": g.alerts,
                "time_to_acknowledge": g.acknowledge.as_dict(),
                "time_to_call": g.call.as_dict(),
                "time_to_door": g.door.as_dict(),
                "time_to_resolve": g.resolve.as_dict(),
            }
            for g in found.communities
        ],
    }


def group_dict(group: Group) -> dict[str, Any]:
    """One row of a measures table as plain data (API, export)."""
    return {
        "area_id": group.key or None,
        "name": group.name,
        "alerts": group.alerts,
        "time_to_acknowledge": group.acknowledge.as_dict(),
        "time_to_call": group.call.as_dict(),
        "time_to_door": group.door.as_dict(),
        "time_to_resolve": group.resolve.as_dict(),
    }


def as_dict(found: Measures) -> dict[str, Any]:
    """The measures of a period as plain data for the API."""
    return {
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "alerts": found.total,
        "time_to_acknowledge": found.acknowledge.as_dict(),
        "time_to_call": found.call.as_dict(),
        "time_to_door": found.door.as_dict(),
        "time_to_resolve": found.resolve.as_dict(),
        "communities": [group_dict(g) for g in found.communities],
        "compounds": [group_dict(g) for g in found.compounds],
        "by_kind": dict(found.by_kind.most_common()),
        "by_outcome": dict(found.by_outcome.most_common()),
    }


def workbook(found: Measures, stamp: str) -> bytes:
    """The measures as an .xlsx: one sheet per community, one per compound. Seconds, so a
    spreadsheet can compute with them; the stamp says who exported it and when."""
    from io import BytesIO

    from django.utils.translation import gettext as _
    from openpyxl import Workbook

    book = Workbook()
    header = [
        _("Area"),
        _("Alerts"),
        _("Acknowledge: median (s)"),
        _("Acknowledge: p90 (s)"),
        _("Call: median (s)"),
        _("Call: p90 (s)"),
        _("At the door: median (s)"),
        _("At the door: p90 (s)"),
        _("Resolve: median (s)"),
        _("Resolve: p90 (s)"),
    ]
    sheets = [(_("Per community"), found.communities), (_("Per compound"), found.compounds)]
    for index, (title, groups) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None  # noqa: S101 - a new workbook has its first sheet
        sheet.title = title[:31]
        sheet.append([stamp])
        sheet.append(header)
        for g in [
            *groups,
            Group(
                key="",
                name=_("All"),
                alerts=found.total,
                acknowledge=found.acknowledge,
                resolve=found.resolve,
                call=found.call,
                door=found.door,
            ),
        ]:
            row: list[Any] = [g.name or "—", g.alerts]
            for timing in (g.acknowledge, g.call, g.door, g.resolve):
                row += [_round(timing.median), _round(timing.p90)]
            sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
