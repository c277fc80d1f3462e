"""Alert screens: the live console on a worker's phone, one alert with its timeline, the town's
board, the measures, expected door openings, and the live stream (SSE) that keeps them current.

Thin: parse the request, call an action of `services`, render. Every query goes through
`Alert.objects.visible_to(user)`, so an alert outside the user's areas is "not found" here as in
the API; the stream sends only events of alerts whose area the user covers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shouwang.alerts import bus, rules, stats
from shouwang.alerts import perms as alert_perms
from shouwang.alerts.forms import (
    ACTIVE,
    ActionForm,
    ArrivalForm,
    AssignForm,
    BoardFilterForm,
    CommentForm,
    DispatchForm,
    PeriodForm,
    ResolveForm,
    SuppressionForm,
    alert_kinds,
    colleagues,
    filter_alerts,
    status_label,
)
from shouwang.alerts.models import (
    Alert,
    AlertEntry,
    AlertStatus,
    Delivery,
    Outcome,
    Severity,
    SuppressionWindow,
    kinds_visible_to,
)
from shouwang.alerts.notify import dispatch
from shouwang.alerts.services import alerting, suppression
from shouwang.core import audit, roles
from shouwang.core.models import Area, AreaKind, Household, Person
from shouwang.core.paging import page_of
from shouwang.core.permissions import get_visible, require, require_visible_choices
from shouwang.core.scoping import ScopedQuerySet, area_paths, user_covers_area
from shouwang.core.services import areas as area_service
from shouwang.core.services import people as people_service

CONSOLE_LIMIT = 200
# The live stream: reconnect hint, heartbeat for proxies, and a bounded life so that an expired
# session or a changed role takes effect at the next reconnect.
RETRY_MS = 3000
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0
# Reasons that make a console beep.
ALARMING = ("opened", "occurred", "escalated", "reminded")


# --- Helpers ----------------------------------------------------------------------------------


def _visible(user: Any) -> ScopedQuerySet[Alert]:
    require(user, alert_perms.VIEW_ALERTS)
    return Alert.objects.visible_to(user)


def _console_order(queryset: QuerySet[Alert]) -> QuerySet[Alert]:
    """Not yet acknowledged first, then the most severe, then the newest."""
    unacknowledged_first = Case(
        When(status=AlertStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return queryset.order_by(unacknowledged_first, "-severity", "-last_occurred_at", "-id")


def kind_label(kind: str) -> str:
    rule = rules.KINDS.get(kind)
    return str(rule.label) if rule is not None else kind


def card(alert: Alert, can_call: bool) -> dict[str, Any]:
    """What a console card shows: the same fields the live events carry, with labels."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": kind_label(alert.kind),
        "severity": alert.severity,
        "severity_label": Severity(alert.severity).label,
        "status": alert.status,
        "status_label": status_label(alert.status),
        "title": alert.title,
        "opened_at": alert.opened_at,
        "last_occurred_at": alert.last_occurred_at,
        "occurrences": alert.occurrences,
        "callable": can_call and bool(alert.person_id or alert.household_id),
    }


BLANK_CARD = {
    "id": "__ID__",
    "kind": "",
    "kind_label": "",
    "severity": "",
    "severity_label": "",
    "status": "open",
    "status_label": "",
    "title": "",
    "opened_at": None,
    "last_occurred_at": None,
    "occurrences": 1,
    "callable": True,
}


def console_config(request: HttpRequest) -> dict[str, Any]:
    """What the page's script needs: where to listen, and the labels to show."""
    return {
        "stream": reverse("alert-stream"),
        "base": reverse("alert-console"),
        "timeZone": settings.TIME_ZONE,
        "kinds": {k: str(label) for k, label in alert_kinds()},
        "severities": {str(v): str(label) for v, label in Severity.choices},
        "statuses": {v: status_label(v) for v in AlertStatus.values},
        "alarming": list(ALARMING),
        "text": {
            "live": _("Live"),
            "offline": _("Reconnecting…"),
            "closed": _("Disconnected. Reload the page."),
            "failed": _("That did not work. Try again."),
        },
    }


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, alert: Alert) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("alert-detail", pk=alert.pk)


def _done(request: HttpRequest, alert: Alert, reason: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"alert": bus.alert_event(alert, reason)})
    messages.success(request, message)
    return _back(request, alert)


def _refused(request: HttpRequest, alert: Alert, errors: list[str]) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"errors": errors}, status=422)
    for error in errors:
        messages.error(request, error)
    return _back(request, alert)


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# --- Pages ------------------------------------------------------------------------------------


@require_GET
def console(request: HttpRequest) -> HttpResponse:
    """The worker's phone: open and acknowledged alerts of their areas, live."""
    queryset = _visible(request.user).filter(status__in=ACTIVE)
    alerts = list(_console_order(queryset)[:CONSOLE_LIMIT])
    can_call = request.user.has_perm(roles.REVEAL)
    return render(
        request,
        "alerts/console.html",
        {
            "cards": [card(a, can_call) for a in alerts],
            "blank": BLANK_CARD,
            "config": console_config(request),
            "resolve_form": ResolveForm(),
            "can_handle": request.user.has_perm(alert_perms.HANDLE_ALERTS),
            "can_call": can_call,
            "no_channel": not dispatch.channel_reaches(request.user),
        },
    )


def community_name(area: Area | None, names: dict[str, tuple[str, int]]) -> str:
    if area is None:
        return ""
    for path in [*area.ancestor_paths(), area.path]:
        name, kind = names.get(path, ("", 0))
        if kind == AreaKind.COMMUNITY:
            return name
    return ""


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """The town's desktop view: every alert of its areas, filtered, live."""
    queryset: QuerySet[Alert] = _visible(request.user)
    form = BoardFilterForm(request.GET, user=request.user)
    filters = form.filters()
    require_visible_choices(form, "community")
    area = None
    if form.cleaned_data.get("community"):
        area = get_visible(request.user, Area, form.cleaned_data["community"])
    queryset = filter_alerts(queryset.select_related("area", "assignee"), area=area, **filters)
    page = page_of(request, queryset.order_by("-opened_at", "-id"))
    names = area_service.ancestor_names([a.area for a in page if a.area is not None])
    rows = [
        (a, kind_label(a.kind), community_name(a.area, names), status_label(a.status)) for a in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("partial", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query_string": query.urlencode(),
        "config": console_config(request),
    }
    if request.GET.get("partial"):
        return render(request, "alerts/_board_rows.html", context)
    return render(request, "alerts/board.html", context)


def _period_measures(request: HttpRequest) -> tuple[PeriodForm, stats.Measures]:
    queryset: QuerySet[Alert] = _visible(request.user)
    form = PeriodForm(request.GET, user=request.user)
    since, until = form.period()
    require_visible_choices(form, "community")
    community = form.cleaned_data.get("community")
    if community:
        area = get_visible(request.user, Area, community)
        queryset = queryset.filter(area__path__startswith=area.path)
    start, end = stats.day_bounds(since)[0], stats.day_bounds(until)[1]
    return form, stats.measure(queryset, start, end)


@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    form, measures = _period_measures(request)
    since, until = form.period()
    query = request.GET.urlencode()
    return render(
        request,
        "alerts/stats.html",
        {
            "form": form,
            "m": measures,
            "since": since,
            "until": until,
            "query": query,
            "tables": [
                (_("Per community"), measures.communities, "per-community"),
                (_("Per compound"), measures.compounds, "per-compound"),
            ],
        },
    )


@require_GET
def stats_export(request: HttpRequest) -> HttpResponse:
    """The measures of the period as an Excel file (times in seconds), audited."""
    form, measures = _period_measures(request)
    since, until = form.period()
    now = timezone.localtime()
    stamp = _("Exported by %(who)s at %(when)s") % {
        "who": request.user,
        "when": now.strftime("%Y-%m-%d %H:%M"),
    }
    with transaction.atomic():
        audit.record(
            "alerts.stats_export",
            actor=request.user,
            details={"since": since.isoformat(), "until": until.isoformat()},
        )
    response = HttpResponse(
        stats.workbook(measures, stamp),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"alert-measures-{since:%Y%m%d}-{until:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _windows(household: Household) -> list[tuple[SuppressionWindow, str]]:
    return [(w, suppression.describe(w.reason)) for w in suppression.upcoming(household)]


def _residents(alert: Alert) -> list[Person]:
    if alert.household_id is None:
        return [alert.person] if alert.person is not None else []
    return list(Person.objects.filter(household_id=alert.household_id).order_by("pk"))


def _timeline(alert: Alert) -> list[AlertEntry]:
    entries = list(alert.entries.select_related("actor"))
    outcomes = dict(Outcome.choices)
    for entry in entries:
        # What was found at the door, in words (the entry keeps the code).
        entry.arrival_label = str(outcomes.get(str(entry.data.get("outcome", "")), ""))  # type: ignore[attr-defined]
    return entries


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, alert_perms.VIEW_ALERTS)
    alert = get_visible(
        request.user,
        Alert.objects.select_related(
            "area",
            "household__area",
            "person",
            "device",
            "assignee",
            "acknowledged_by",
            "resolved_by",
        ),
        pk,
    )
    names = area_service.ancestor_names([alert.area] if alert.area is not None else [])
    can_handle = request.user.has_perm(alert_perms.HANDLE_ALERTS)
    can_call = request.user.has_perm(roles.REVEAL)
    to_the_door = (
        request.user.has_perm(alert_perms.VISIT_DOOR)
        and alert.status != AlertStatus.RESOLVED
        and alert.arrived_at is None
    )
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "card": card(alert, can_call),
            "kind_label": kind_label(alert.kind),
            "where": (
                area_service.address_of(alert.area, names, from_kind=AreaKind.COMMUNITY)
                if alert.area is not None
                else ""
            ),
            "entries": _timeline(alert),
            "residents": _residents(alert),
            "windows": _windows(alert.household) if alert.household else [],
            "can_handle": can_handle,
            "can_call": can_call,
            "resolve_form": ResolveForm(),
            "comment_form": CommentForm(),
            "assign_form": (
                AssignForm(candidates=colleagues(alert), initial={"assignee": alert.assignee_id})
                if can_handle and alert.status != AlertStatus.RESOLVED
                else None
            ),
            "notified": _notified(alert),
            "no_channel": not dispatch.channel_reaches(request.user),
            "dispatch_form": DispatchForm() if to_the_door else None,
            "arrival_form": ArrivalForm() if to_the_door else None,
            "config": console_config(request),
        },
    )


def _notified(alert: Alert) -> list[tuple[str, str]]:
    """The channels told of this alert (a group, a mailbox, a webhook), with how it went. Not
    the family contacts' messages: names of residents' relatives are not for every role."""
    told = alert.deliveries.filter(recipient_kind="", channel__isnull=False).select_related(
        "channel"
    )
    seen: dict[str, str] = {}
    for delivery in told.order_by("created_at", "id"):
        if delivery.channel is not None:
            seen[delivery.channel.name] = str(Delivery.Status(delivery.status).label)
    return list(seen.items())


# --- Actions ----------------------------------------------------------------------------------


def _alert_for_action(request: HttpRequest, pk: int) -> Alert:
    require(request.user, alert_perms.VIEW_ALERTS)
    return get_visible(request.user, Alert.objects.select_related("area"), pk)


def _action(
    service: Callable[..., Any],
    reason: str,
    done: str | Promise | Callable[[dict[str, Any]], str],
    form: type[ActionForm] | None = None,
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The view of one action on an alert (POST): the alert in the user's scope; the posted
    `form`, if any, refused with its `invalid` message; `service(user, alert, **its fields)`,
    whose own refusal (ValidationError) is passed on; then the answer: the live event
    `reason` as JSON for the console's buttons, else the message `done` and back."""

    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        alert = _alert_for_action(request, pk)
        data: dict[str, Any] = {}
        if form is not None:
            bound = form.bind(request.POST, alert)
            if not bound.is_valid():
                # A character that cannot be kept (core.edge) is named as such, not taken for
                # the form's usual mistake.
                refused = [str(e) for name in bound.refused for e in bound.errors.get(name, [])]
                return _refused(request, alert, refused or [str(bound.invalid)])
            data = bound.cleaned_data
        try:
            changed = service(request.user, alert, **data)
        except ValidationError as exc:
            return _refused(request, alert, _messages_of(exc))
        if isinstance(changed, Alert):  # (a comment returns its timeline entry)
            alert = changed
        return _done(
            request, alert, reason, str(done) if isinstance(done, str | Promise) else done(data)
        )

    return view


def _assigned(data: dict[str, Any]) -> str:
    return _("Assigned to %(name)s.") % {"name": data["assignee"]}


# The actions on one alert, each its form's fields handed to one service of `alerting`. Someone
# is sent up to the door (the property office, or a worker), then stands there: what was found.
acknowledge = _action(alerting.acknowledge, "acknowledged", gettext_lazy("Acknowledged."))
resolve = _action(alerting.resolve, "resolved", gettext_lazy("Resolved."), ResolveForm)
comment = _action(alerting.comment, "commented", gettext_lazy("Comment added."), CommentForm)
assign = _action(alerting.assign, "assigned", _assigned, AssignForm)
dispatch_to_door = _action(
    alerting.dispatch_to_door, "dispatched", gettext_lazy("On the way to the door."), DispatchForm
)
arrive = _action(
    alerting.record_arrival, "arrived", gettext_lazy("Arrival at the door recorded."), ArrivalForm
)


def _callee(alert: Alert, wanted: str | None) -> Person | None:
    """Who the call button calls: the person chosen on the alert page (a resident of the
    household), else the alert's person, else the household's first resident with a phone."""
    residents = _residents(alert)
    if wanted:
        return next((p for p in residents if str(p.pk) == wanted), None)
    if alert.person is not None and alert.person.phone_index:
        return alert.person
    return next((p for p in residents if p.phone_index), None)


@require_POST
def call(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal the resident's phone number (audited) and dial it."""
    require(request.user, alert_perms.VIEW_ALERTS)
    alert = get_visible(
        request.user, Alert.objects.select_related("area", "person__household__area"), pk
    )
    wanted = request.POST.get("person")
    person = _callee(alert, wanted)
    if person is None:
        if wanted:  # not a resident of this household: nobody to call through this alert
            raise Http404
        return _refused(request, alert, [_("No resident with a phone number on file.")])
    phone = people_service.reveal(
        request.user, person, "phone", _("Call about alert %(id)s") % {"id": alert.pk}
    )
    if not phone:
        return _refused(request, alert, [_("No phone number on file for this resident.")])
    alerting.record_call(request.user, alert, person)  # the alert's "time to call"
    if _wants_json(request):
        return JsonResponse({"tel": phone, "name": person.masked_name})
    return render(request, "alerts/call.html", {"alert": alert, "person": person, "phone": phone})


@require_http_methods(["GET", "POST"])
def suppress(request: HttpRequest, household_pk: int) -> HttpResponse:
    """Register an expected door opening for a household."""
    require(request.user, alert_perms.HANDLE_ALERTS)
    household = get_visible(request.user, Household.objects.select_related("area"), household_pk)
    alert_id = request.GET.get("alert") or request.POST.get("alert") or ""
    back = (
        reverse("alert-detail", args=[int(alert_id)])
        if alert_id.isdigit()
        else reverse("alert-suppress", args=[household.pk])
    )
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = SuppressionForm(
        request.POST or None,
        initial={"reason": "garbage", "starts_at": now, "ends_at": now + timedelta(minutes=30)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            suppression.add_window(
                request.user,
                household,
                data["starts_at"],
                data["ends_at"],
                data["reason"],
                data["note"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Expected door opening registered."))
            return redirect(back)
    names = area_service.ancestor_names([household.area])
    return render(
        request,
        "alerts/suppress.html",
        {
            "form": form,
            "household": household,
            "address": area_service.household_address(household, names, AreaKind.COMMUNITY),
            "windows": _windows(household),
            "alert_id": alert_id if alert_id.isdigit() else "",
            "back": back,
        },
        status=422 if form.errors else 200,
    )


# --- The live stream --------------------------------------------------------------------------


def _sse(event: str, data: Any, event_id: str | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _event_id() -> str:
    return str(time.time_ns() // 1_000_000)


def _may_stream(user: Any) -> bool:
    if not user.has_perm(alert_perms.VIEW_ALERTS):
        return False
    area_paths(user)  # loads the user's areas now, so each event is checked without a query
    return True


def _snapshot(user: Any) -> list[dict[str, Any]]:
    """The open alerts as live events. Then the database connection is given back: a stream
    lives for minutes and must not hold a connection (hundreds of consoles would exhaust
    PostgreSQL's); a resync opens one again for a moment."""
    try:
        alerts = _console_order(
            Alert.objects.visible_to(user).filter(status__in=ACTIVE).select_related("area")
        )[:CONSOLE_LIMIT]
        return [bus.alert_event(a, "snapshot") for a in alerts]
    finally:
        if not db_connection.in_atomic_block:  # (inside a test's transaction, keep it)
            db_connection.close()


async def _events(user: Any, resumed: bool) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_SECONDS
    seen = kinds_visible_to(user)  # the property office hears of door alerts only
    async with bus.subscription() as queue:
        # Subscribed before the snapshot is read: nothing falls between the two.
        yield f"retry: {RETRY_MS}\n\n"
        snapshot = await sync_to_async(_snapshot)(user)
        yield _sse("snapshot", {"alerts": snapshot, "resumed": resumed}, _event_id())
        while (left := deadline - loop.time()) > 0:
            try:
                payload = await asyncio.wait_for(queue.get(), min(HEARTBEAT_SECONDS, left))
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            kind = payload.get("type")
            if kind == "resync":  # the broker connection came back: we may have missed some
                snapshot = await sync_to_async(_snapshot)(user)
                yield _sse("snapshot", {"alerts": snapshot, "resumed": True}, _event_id())
            elif (
                kind == "alert"
                and user_covers_area(user, str(payload.get("area_path", "")))
                and (seen is None or payload.get("kind") in seen)
            ):
                yield _sse("alert", payload, _event_id())


@require_GET
async def stream(request: HttpRequest) -> HttpResponseBase:
    """Server-sent events of the alerts the user may see: a snapshot of the open ones on every
    (re)connect, then each change as it commits."""
    user = await request.auser()
    if not await sync_to_async(_may_stream)(user):
        raise PermissionDenied
    resumed = bool(request.headers.get("Last-Event-ID"))
    response = StreamingHttpResponse(
        _events(user, resumed), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
