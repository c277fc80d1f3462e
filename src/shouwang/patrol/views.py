"""Patrol screens: the operations centre's checkpoints, cameras, rounds and re-checks, and the
community's rectification orders. Thin: parse, call a service, render. Everything is fetched
through `visible_to`, so what belongs to another town (or, for a community worker, another
community) is "not found"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shouwang.core.addresses import address_of, ancestor_names
from shouwang.core.bounds import FIRST_DAY, LAST_DAY
from shouwang.core.models import Area, AreaKind, User
from shouwang.core.paging import page_of
from shouwang.core.permissions import get_visible, require
from shouwang.patrol.forms import (
    AnswerForm,
    FindingForm,
    InspectionForm,
    ReturnForm,
    SnapshotUploadForm,
)
from shouwang.patrol.models import (
    Camera,
    CameraStatus,
    CheckItem,
    Checkpoint,
    Inspection,
    OrderStatus,
    PatrolPlan,
    RectificationOrder,
    Round,
    RoundStop,
    Snapshot,
    SnapshotSource,
)
from shouwang.patrol.perms import (
    ANSWER_ORDERS,
    INSPECT,
    MANAGE_PLANS,
    RECHECK_ORDERS,
    USE_CAMERAS,
    VIEW_CHECKPOINTS,
    VIEW_ORDERS,
    VIEW_ROUNDS,
    WALK_ROUNDS,
)
from shouwang.patrol.services import inspections, orders, rounds, scores, snapshots


def _user(request: HttpRequest) -> User:
    # Every staff page is behind the login (LoginRequiredMiddleware).
    return cast(User, request.user)


SNAPSHOT_FIELDS = ("pk", "camera_id", "taken_at", "source", "size", "content_type")


def latest_snapshots(camera_ids: list[int]) -> dict[int, Snapshot]:
    """Each camera's newest snapshot (without its image): two queries, any number of cameras."""
    if not camera_ids:
        return {}
    newest = Snapshot.objects.filter(camera_id=OuterRef("pk")).order_by("-taken_at", "-pk")
    pks = (
        Camera.objects.filter(pk__in=camera_ids)
        .annotate(newest=Subquery(newest.values("pk")[:1]))
        .values_list("newest", flat=True)
    )
    found = Snapshot.objects.filter(pk__in=[pk for pk in pks if pk]).only(*SNAPSHOT_FIELDS)
    return {s.camera_id: s for s in found}


@require_GET
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_CHECKPOINTS)
    queryset = (
        Checkpoint.objects.visible_to(request.user)
        .filter(active=True)
        .select_related("area")
        .annotate(
            camera_count=Count("cameras", filter=Q(cameras__active=True)),
            offline_count=Count(
                "cameras", filter=Q(cameras__active=True, cameras__status=CameraStatus.OFFLINE)
            ),
        )
        .order_by("area__path", "name", "pk")
    )
    page = page_of(request, queryset)
    names = ancestor_names(list({c.area.pk: c.area for c in page}.values()))
    cameras = Camera.objects.visible_to(request.user).filter(active=True)
    return render(
        request,
        "patrol/checkpoint_list.html",
        {
            "page": page,
            "rows": [(c, address_of(c.area, names, AreaKind.COMMUNITY)) for c in page],
            "offline": cameras.filter(status=CameraStatus.OFFLINE).count(),
            "cameras": cameras.count(),
        },
    )


@require_GET
def checkpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_CHECKPOINTS)
    checkpoint = get_visible(
        request.user,
        Checkpoint.objects.select_related("area").prefetch_related(
            Prefetch("cameras", Camera.objects.filter(active=True))
        ),
        pk,
    )
    cameras = list(checkpoint.cameras.all())
    latest = latest_snapshots([c.pk for c in cameras])
    names = ancestor_names([checkpoint.area])
    return render(
        request,
        "patrol/checkpoint_detail.html",
        {
            "checkpoint": checkpoint,
            "where": address_of(checkpoint.area, names, AreaKind.COMMUNITY),
            "cameras": [(c, latest.get(c.pk)) for c in cameras],
            "can_use": request.user.has_perm(USE_CAMERAS),
        },
    )


@require_GET
def camera_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, USE_CAMERAS)
    camera = get_visible(request.user, Camera.objects.select_related("checkpoint__area"), pk)
    page = page_of(request, camera.snapshots.only(*SNAPSHOT_FIELDS), size=24)
    return render(
        request,
        "patrol/camera_detail.html",
        {"camera": camera, "page": page, "upload_form": SnapshotUploadForm()},
    )


@require_POST
def camera_fetch(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, USE_CAMERAS)
    camera = get_visible(request.user, Camera.objects.select_related("checkpoint__area"), pk)
    try:
        taken = snapshots.fetch_now(_user(request), camera)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patrol-camera", camera.pk)
    if taken is None:
        messages.error(
            request,
            _("The camera is offline: %(why)s.") % {"why": camera.get_last_error_display()},
        )
    else:
        messages.success(request, _("New snapshot taken."))
    if request.POST.get("back") == "checkpoint":
        return redirect("patrol-checkpoint", camera.checkpoint_id)
    return redirect("patrol-camera", camera.pk)


@require_POST
def camera_upload(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, USE_CAMERAS)
    camera = get_visible(request.user, Camera.objects.select_related("checkpoint__area"), pk)
    form = SnapshotUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            snapshots.upload(_user(request), camera, form.cleaned_data["image"].read())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Image kept as the newest snapshot."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("patrol-camera", camera.pk)


@require_GET
def snapshot_image(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, USE_CAMERAS)
    snapshot = get_visible(request.user, Snapshot, pk)
    return HttpResponse(snapshot.image(), content_type=snapshot.content_type)


FRESH_SECONDS = 60


def _fresh(actor: Any, cameras: list[Camera]) -> dict[int, Snapshot]:
    """Each camera's newest snapshot, asking the reachable cameras again when theirs is older
    than a minute: the operator judges the gate as it is now."""
    latest = latest_snapshots([c.pk for c in cameras])
    stale_before = timezone.now() - timedelta(seconds=FRESH_SECONDS)
    stale = [
        c
        for c in cameras
        if c.source == SnapshotSource.HTTP
        and (c.pk not in latest or latest[c.pk].taken_at < stale_before)
    ]
    if stale:
        snapshots.refresh(actor, stale)
        for c in stale:
            c.refresh_from_db()
        latest = latest_snapshots([c.pk for c in cameras])
    return latest


@require_GET
def round_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_ROUNDS)
    plans = list(PatrolPlan.objects.visible_to(request.user).select_related("area"))
    today = rounds.local_today()
    towns = []
    if request.user.has_perm(MANAGE_PLANS):
        planned = {p.area_id for p in plans}
        towns = [
            a
            for a in Area.objects.visible_to(request.user).filter(kind=AreaKind.STREET)
            if a.pk not in planned
        ]
    return render(
        request,
        "patrol/round_list.html",
        {
            "today": today,
            "plans": [(p, rounds.todays_rounds(p, today)) for p in plans],
            "towns": towns,
            "now": timezone.now(),
        },
    )


@require_POST
def plan_new(request: HttpRequest) -> HttpResponse:
    require(request.user, MANAGE_PLANS)
    area = get_visible(
        request.user, Area.objects.filter(kind=AreaKind.STREET), request.POST.get("area")
    )
    rounds.ensure_plan(_user(request), area)
    messages.success(request, _("Patrol plan set up with the default windows."))
    return redirect("patrol-rounds")


@require_POST
def round_open(request: HttpRequest) -> HttpResponse:
    require(request.user, WALK_ROUNDS)
    plan = get_visible(
        request.user, PatrolPlan.objects.select_related("area"), request.POST.get("plan")
    )
    try:
        window = int(request.POST.get("window", ""))
    except ValueError as exc:
        raise Http404 from exc
    round_ = rounds.open_round(_user(request), plan, rounds.local_today(), window)
    return redirect("patrol-round", round_.pk)


@require_GET
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_ROUNDS)
    round_ = get_visible(request.user, Round.objects.select_related("plan__area"), pk)
    stops = list(
        RoundStop.objects.filter(round=round_)
        .select_related("checkpoint__area")
        .order_by("position")
    )
    current = None
    wanted = request.GET.get("stop", "")
    if wanted.isdigit():
        current = next((s for s in stops if s.pk == int(wanted)), None)
        if current is None:
            raise Http404
    if current is None:
        current = rounds.next_stop(round_)
        current = next((s for s in stops if current and s.pk == current.pk), None)
    context: dict[str, Any] = {"round": round_, "stops": stops, "current": current}
    if current is not None:
        cameras = list(current.checkpoint.cameras.filter(active=True))
        latest = _fresh(_user(request), cameras) if request.user.has_perm(WALK_ROUNDS) else {}
        following = rounds.next_stop(round_, after=current.position)
        context.update(
            cameras=[(c, latest.get(c.pk)) for c in cameras],
            evidence=next((latest[c.pk] for c in cameras if c.pk in latest), None),
            following=following if following and following.pk != current.pk else None,
            form=FindingForm(),
            names=address_of(
                current.checkpoint.area,
                ancestor_names([current.checkpoint.area]),
                AreaKind.COMMUNITY,
            ),
        )
    return render(request, "patrol/round.html", context)


def _stop(request: HttpRequest, pk: int, stop_pk: int) -> RoundStop:
    require(request.user, WALK_ROUNDS)
    round_ = get_visible(request.user, Round.objects.select_related("plan__area"), pk)
    stop = (
        RoundStop.objects.select_related("checkpoint__area")
        .filter(round=round_, pk=stop_pk)
        .first()
    )
    if stop is None:
        raise Http404
    stop.round = round_
    return stop


def _after(stop: RoundStop) -> HttpResponse:
    following = rounds.next_stop(stop.round, after=stop.position)
    url = reverse("patrol-round", args=[stop.round.pk])
    return redirect(f"{url}?stop={following.pk}" if following else url)


@require_POST
def stop_ok(request: HttpRequest, pk: int, stop_pk: int) -> HttpResponse:
    stop = _stop(request, pk, stop_pk)
    if not rounds.mark_ok(_user(request), stop):
        messages.info(request, _("This checkpoint was already checked."))
    return _after(stop)


@require_POST
def stop_finding(request: HttpRequest, pk: int, stop_pk: int) -> HttpResponse:
    stop = _stop(request, pk, stop_pk)
    form = FindingForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(f"{reverse('patrol-round', args=[pk])}?stop={stop.pk}")
    evidence = None
    if form.cleaned_data.get("evidence"):
        evidence = get_visible(
            request.user, Snapshot.objects.select_related("camera"), form.cleaned_data["evidence"]
        )
    try:
        finding = rounds.record_finding(
            _user(request),
            stop,
            rounds.FindingData(
                form.cleaned_data["category"],
                form.cleaned_data["severity"],
                form.cleaned_data["note"],
                evidence,
            ),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{reverse('patrol-round', args=[pk])}?stop={stop.pk}")
    if finding is None:
        messages.info(request, _("This checkpoint was already checked."))
    else:
        messages.success(
            request, _("Finding recorded; the rectification order went to the community.")
        )
    return _after(stop)


ORDER_RELATED = ("community", "finding__checkpoint__area", "finding__evidence")


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_ORDERS)
    status = request.GET.get("status", "")
    queryset = (
        RectificationOrder.objects.visible_to(request.user)
        .select_related(*ORDER_RELATED)
        .defer("answer_photo")
    )
    if status in OrderStatus.values:
        queryset = queryset.filter(status=status)
    page = page_of(request, queryset)
    return render(
        request,
        "patrol/order_list.html",
        {"page": page, "status": status, "statuses": OrderStatus.choices, "now": timezone.now()},
    )


def _order(request: HttpRequest, pk: int) -> RectificationOrder:
    require(request.user, VIEW_ORDERS)
    return get_visible(request.user, RectificationOrder.objects.select_related(*ORDER_RELATED), pk)


@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    can_recheck = request.user.has_perm(RECHECK_ORDERS)
    cameras = list(order.finding.checkpoint.cameras.filter(active=True)) if can_recheck else []
    return render(
        request,
        "patrol/order_detail.html",
        {
            "order": order,
            "finding": order.finding,
            "can_answer": request.user.has_perm(ANSWER_ORDERS) and order.status == OrderStatus.OPEN,
            "can_recheck": can_recheck and order.status == OrderStatus.ANSWERED,
            "cameras": cameras,
            "answer_form": AnswerForm(),
            "return_form": ReturnForm(),
            "now": timezone.now(),
        },
    )


@require_POST
def order_answer(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = AnswerForm(request.POST, request.FILES)
    if form.is_valid():
        photo = form.cleaned_data.get("photo")
        try:
            orders.answer(
                _user(request), order, form.cleaned_data["note"], photo.read() if photo else None
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Answer sent: the ops centre will re-check on video."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("patrol-order", order.pk)


@require_POST
def order_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    require(request.user, RECHECK_ORDERS)
    raw = str(request.POST.get("camera", ""))
    camera = (
        Camera.objects.filter(pk=int(raw), checkpoint_id=order.finding.checkpoint_id).first()
        if raw.isdigit()
        else None
    )
    if camera is None:
        raise Http404
    try:
        taken = orders.recheck(_user(request), order, camera)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patrol-order", order.pk)
    if taken is None:
        camera.refresh_from_db()
        messages.error(
            request, _("The camera is offline: %(why)s.") % {"why": camera.get_last_error_display()}
        )
    return redirect("patrol-order", order.pk)


@require_POST
def order_close(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        orders.close(_user(request), order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Order closed."))
    return redirect("patrol-order", order.pk)


@require_POST
def order_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = ReturnForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Say what is still wrong."))
        orders.send_back(_user(request), order, form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sent back to the community."))
    return redirect("patrol-order", order.pk)


@require_GET
def order_image(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """The order's images, for whoever may see the order (the community included): the
    evidence, the community's photo, the re-check snapshot."""
    order = _order(request, pk)
    if which == "evidence" and order.finding.evidence is not None:
        return HttpResponse(
            order.finding.evidence.image(), content_type=order.finding.evidence.content_type
        )
    if which == "recheck" and order.recheck_id is not None:
        snapshot = Snapshot.objects.get(pk=order.recheck_id)
        return HttpResponse(snapshot.image(), content_type=snapshot.content_type)
    if which == "photo" and order.answer_photo is not None:
        return HttpResponse(order.photo(), content_type=order.answer_photo_type)
    raise Http404


def home_section(actor: Any) -> dict[str, Any] | None:
    """The home page's patrol part: open orders for a community, today's rounds for the ops
    centre. Two queries at most."""
    if actor is None or not actor.is_authenticated or not actor.has_perm(VIEW_ORDERS):
        return None
    open_orders = list(
        RectificationOrder.objects.visible_to(actor)
        .exclude(status=OrderStatus.CLOSED)
        .select_related(*ORDER_RELATED)
        .defer("answer_photo")[:10]
    )
    if not open_orders and not actor.has_perm(VIEW_ROUNDS):
        return None
    return {"orders": open_orders, "now": timezone.now(), "can_walk": actor.has_perm(VIEW_ROUNDS)}


def _card_request(request: HttpRequest) -> tuple[Area, date]:
    require(request.user, VIEW_ORDERS)
    towns = list(Area.objects.visible_to(request.user).filter(kind=AreaKind.STREET))
    town = None
    if not towns:
        # A community worker: the town above their community, seen through their own rows.
        own = Area.objects.visible_to(request.user).filter(kind=AreaKind.COMMUNITY).first()
        if own is not None:
            town = Area.objects.filter(path__in=own.ancestor_paths(), kind=AreaKind.STREET).first()
    else:
        wanted = request.GET.get("town", "")
        town = next((t for t in towns if str(t.pk) == wanted), towns[0])
    if town is None:
        raise Http404
    raw = request.GET.get("day", "")
    try:
        day = date.fromisoformat(raw) if raw else rounds.local_today()
    except ValueError:
        day = rounds.local_today()
    if not FIRST_DAY <= day <= LAST_DAY:
        day = rounds.local_today()
    return town, day


@require_GET
def score_card(request: HttpRequest) -> HttpResponse:
    town, day = _card_request(request)
    card = scores.card(request.user, town, day)
    week = scores.trend(request.user, town, day, days=7)
    return render(
        request,
        "patrol/scores.html",
        {
            "card": card,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "days": [day - timedelta(days=n) for n in range(6, -1, -1)],
            "trend": [(row, week.get(row.community.pk, [])) for row in card.rows],
            "reasons": scores.REASONS,
        },
    )


@require_GET
def score_export(request: HttpRequest) -> HttpResponse:
    town, day = _card_request(request)
    card = scores.card(request.user, town, day)
    content = scores.workbook(card)
    answer = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    answer["Content-Disposition"] = f'attachment; filename="patrol-scores-{day.isoformat()}.xlsx"'
    return answer


@require_GET
def score_image(request: HttpRequest) -> HttpResponse:
    town, day = _card_request(request)
    card = scores.card(request.user, town, day)
    answer = HttpResponse(scores.picture(card), content_type="image/png")
    answer["Content-Disposition"] = f'inline; filename="patrol-scores-{day.isoformat()}.png"'
    return answer


def _inspector(request: HttpRequest) -> User:
    """Blind inspections exist only for the ops centre: anyone else is answered 404, as if
    there were none (the community must not learn of them)."""
    user = _user(request)
    if not user.has_perm(INSPECT):
        raise Http404
    return user


@require_http_methods(["GET", "POST"])
def inspection_list(request: HttpRequest) -> HttpResponse:
    user = _inspector(request)
    today = rounds.local_today()
    towns = list(Area.objects.visible_to(user).filter(kind=AreaKind.STREET))
    if request.method == "POST":
        town = get_visible(
            user, Area.objects.filter(kind=AreaKind.STREET), request.POST.get("town")
        )
        raw = str(request.POST.get("count", ""))
        try:
            drawn = inspections.draw(user, user, town, today, int(raw) if raw.isdigit() else 0)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(n)d checkpoints drawn for today.") % {"n": len(drawn)})
        return redirect("patrol-inspections")
    tasks = (
        Inspection.objects.visible_to(user)
        .filter(inspector=user, day=today)
        .select_related("checkpoint__area")
        .defer("photo")
    )
    return render(
        request,
        "patrol/inspection_list.html",
        {"tasks": tasks, "towns": towns, "today": today},
    )


@require_http_methods(["GET", "POST"])
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _inspector(request)
    inspection = get_visible(
        user, Inspection.objects.select_related("checkpoint__area").defer("photo"), pk
    )
    form = InspectionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        photo = form.cleaned_data.get("photo")
        visit = inspections.Visit(
            checklist={item: bool(form.cleaned_data[item]) for item in CheckItem.values},
            note=form.cleaned_data["note"],
            video_link=form.cleaned_data["video_link"],
            photo=photo.read() if photo else None,
            latitude=form.cleaned_data["latitude"],
            longitude=form.cleaned_data["longitude"],
        )
        try:
            found = inspections.record(user, inspection, visit)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, _("Inspection recorded: %(n)d findings sent.") % {"n": len(found)}
            )
            return redirect("patrol-inspections")
    return render(request, "patrol/inspection.html", {"inspection": inspection, "form": form})


@require_GET
def inspection_coverage(request: HttpRequest) -> HttpResponse:
    user = _inspector(request)
    towns = list(Area.objects.visible_to(user).filter(kind=AreaKind.STREET))
    raw = str(request.GET.get("days", "30"))
    days = min(max(int(raw), 1), 365) if raw.isdigit() else 30
    rows = [row for town in towns for row in inspections.coverage(user, town, days)]
    return render(
        request,
        "patrol/inspection_coverage.html",
        {"rows": rows, "days": days, "covered": sum(1 for _c, d in rows if d)},
    )
