"""JSON API for alerts: the list (with the board's filters), one alert with its timeline, and
the actions acknowledge, resolve and comment. Scoped like the pages: an alert outside the
user's areas is 404. Session auth with CSRF, as the rest of the staff API.

No `from __future__ import annotations` here: Ninja reads the annotations at import time.
"""

from datetime import datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from shouwang.alerts import perms as alert_perms
from shouwang.alerts import stats
from shouwang.alerts.forms import PERSON_OUTCOMES, filter_alerts, status_label
from shouwang.alerts.models import Alert, AlertEntry, AlertStatus, Outcome, Severity
from shouwang.alerts.services import alerting
from shouwang.alerts.views import community_name, kind_label
from shouwang.core.api_types import BoundedPagination, Day, Id
from shouwang.core.models import Area
from shouwang.core.permissions import get_visible, require
from shouwang.core.scoping import ScopedQuerySet
from shouwang.core.services import areas as area_service

router = Router(tags=["alerts"])


class AlertOut(Schema):
    id: int
    kind: str
    kind_label: str
    severity: int
    severity_label: str
    status: AlertStatus
    status_label: str
    title: str = Field(description="Where: the household's address, or the device")
    area_id: int | None
    community: str
    household_id: int | None
    person_id: int | None
    device_id: int | None
    opened_at: datetime
    last_occurred_at: datetime
    occurrences: int
    assignee: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str
    outcome_label: str
    note: str


class EntryOut(Schema):
    id: int
    at: datetime
    kind: str
    kind_label: str
    actor: str | None
    text: str
    data: dict[str, Any]


class AlertDetailOut(AlertOut):
    entries: list[EntryOut] = Field(description="The timeline, oldest first")


class AlertFilter(Schema):
    status: Literal["open", "acknowledged", "resolved", "active"] | None = Field(
        None, description='"active": open or acknowledged; none: any status'
    )
    kind: str | None = Field(None, max_length=40)
    severity: Severity | None = None
    area: Id | None = Field(None, description="An area (e.g. a community): alerts at or below")
    date_from: Day | None = Field(None, description="Opened on or after this local day")
    date_to: Day | None = Field(None, description="Opened on or before this local day")


class ResolveIn(Schema):
    outcome: str = Field(description=", ".join(v for v, _ in PERSON_OUTCOMES))
    note: str = Field("", max_length=2000)


class CommentIn(Schema):
    text: str = Field(max_length=2000)


def _name(user: Any) -> str | None:
    return str(user) if user is not None else None


def _alert_out(alert: Alert, names: dict[str, tuple[str, int]]) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": kind_label(alert.kind),
        "severity": alert.severity,
        "severity_label": str(Severity(alert.severity).label),
        "status": alert.status,
        "status_label": status_label(alert.status),
        "title": alert.title,
        "area_id": alert.area_id,
        "community": community_name(alert.area, names),
        "household_id": alert.household_id,
        "person_id": alert.person_id,
        "device_id": alert.device_id,
        "opened_at": alert.opened_at,
        "last_occurred_at": alert.last_occurred_at,
        "occurrences": alert.occurrences,
        "assignee": _name(alert.assignee),
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": _name(alert.acknowledged_by),
        "resolved_at": alert.resolved_at,
        "resolved_by": _name(alert.resolved_by),
        "outcome": alert.outcome,
        "outcome_label": str(Outcome(alert.outcome).label) if alert.outcome else "",
        "note": alert.note,
    }


def _entry_out(entry: AlertEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at,
        "kind": entry.kind,
        "kind_label": str(AlertEntry.Kind(entry.kind).label),
        "actor": _name(entry.actor),
        "text": entry.text,
        "data": entry.data,
    }


def _alerts() -> ScopedQuerySet[Alert]:
    return Alert.objects.select_related("area", "assignee", "acknowledged_by", "resolved_by")


def _one(request: HttpRequest, alert_id: Id) -> Alert:
    require(request.user, alert_perms.VIEW_ALERTS)
    return get_visible(request.user, _alerts(), alert_id)


def _out(alert: Alert) -> dict[str, Any]:
    fresh = _alerts().get(pk=alert.pk)
    names = area_service.ancestor_names([fresh.area] if fresh.area is not None else [])
    return _alert_out(fresh, names)


class _AlertPage:
    """A lazily sliced alert list: community names for a page in one extra query."""

    def __init__(self, queryset: QuerySet[Alert]) -> None:
        self.queryset = queryset

    def __len__(self) -> int:  # Ninja's paginator counts with len() on non-querysets
        return self.queryset.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        page = list(self.queryset[item])
        names = area_service.ancestor_names([a.area for a in page if a.area is not None])
        return [_alert_out(a, names) for a in page]


@router.get("/alerts", response=list[AlertOut])
@paginate(BoundedPagination)
def list_alerts(request: HttpRequest, filters: Query[AlertFilter]) -> Any:
    """Newest first."""
    require(request.user, alert_perms.VIEW_ALERTS)
    area = None
    if filters.area:
        area = get_visible(request.user, Area, filters.area)
    queryset = filter_alerts(
        _alerts().visible_to(request.user),
        status=filters.status,
        kind=filters.kind,
        severity=filters.severity,
        area=area,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return _AlertPage(queryset.order_by("-opened_at", "-id"))


class StatsFilter(Schema):
    date_from: Day | None = Field(None, description="First local day (default: a week ago)")
    date_to: Day | None = Field(None, description="Last local day, included (default: today)")
    area: Id | None = Field(None, description="An area (e.g. a community): alerts at or below")


@router.get("/alerts/stats")
def alert_stats(request: HttpRequest, filters: Query[StatsFilter]) -> dict[str, Any]:
    """How quickly the alerts opened in the period were handled: time to acknowledge, to call
    the resident, to a person at the door and to resolve (count, median and 90th percentile
    in seconds), overall, per community and per compound."""
    require(request.user, alert_perms.VIEW_ALERTS)
    queryset = Alert.objects.visible_to(request.user)
    if filters.area:
        area = get_visible(request.user, Area, filters.area)
        queryset = queryset.filter(area__path__startswith=area.path)
    until = filters.date_to or timezone.localdate()
    since = filters.date_from or until - timedelta(days=6)
    if since > until:
        since, until = until, since
    start, end = stats.day_bounds(since)[0], stats.day_bounds(until)[1]
    return stats.as_dict(stats.measure(queryset, start, end))


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def get_alert(request: HttpRequest, alert_id: Id) -> dict[str, Any]:
    alert = _one(request, alert_id)
    names = area_service.ancestor_names([alert.area] if alert.area is not None else [])
    return {
        **_alert_out(alert, names),
        "entries": [_entry_out(e) for e in alert.entries.select_related("actor")],
    }


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut)
def acknowledge_alert(request: HttpRequest, alert_id: Id) -> dict[str, Any]:
    """Idempotent: acknowledging an acknowledged alert changes nothing."""
    return _out(alerting.acknowledge(request.user, _one(request, alert_id)))


@router.post("/alerts/{alert_id}/resolve", response=AlertOut)
def resolve_alert(request: HttpRequest, alert_id: Id, body: ResolveIn) -> dict[str, Any]:
    if body.outcome == Outcome.CLEARED:  # the system's outcome, never a person's
        raise ValidationError({"outcome": [_("Choose what happened.")]})
    return _out(alerting.resolve(request.user, _one(request, alert_id), body.outcome, body.note))


class DispatchIn(Schema):
    sent: str = Field(max_length=100, description="Who goes to the door")
    note: str = Field("", max_length=2000)


class ArrivalIn(Schema):
    outcome: str = Field(description=", ".join(o.value for o in alerting.DOOR_OUTCOMES))
    note: str = Field("", max_length=2000)


@router.post("/alerts/{alert_id}/dispatch", response=AlertOut)
def dispatch_alert(request: HttpRequest, alert_id: Id, body: DispatchIn) -> dict[str, Any]:
    """Someone is sent up to the door (the property office, or a worker)."""
    alert = alerting.dispatch_to_door(request.user, _one(request, alert_id), body.sent, body.note)
    return _out(alert)


@router.post("/alerts/{alert_id}/arrive", response=AlertOut)
def arrive_alert(request: HttpRequest, alert_id: Id, body: ArrivalIn) -> dict[str, Any]:
    """Someone stood at the door, and found this."""
    alert = alerting.record_arrival(request.user, _one(request, alert_id), body.outcome, body.note)
    return _out(alert)


@router.post("/alerts/{alert_id}/comment", response={201: EntryOut})
def comment_alert(request: HttpRequest, alert_id: Id, body: CommentIn) -> Any:
    entry = alerting.comment(request.user, _one(request, alert_id), body.text)
    return Status(201, _entry_out(entry))
