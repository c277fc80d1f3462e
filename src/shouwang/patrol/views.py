"""Patrol screens for the operations centre: checkpoints, cameras and their snapshots. Thin:
parse, call a service, render. Everything is fetched through `visible_to`, so a checkpoint,
camera or snapshot of another town is "not found"."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from shouwang.core.addresses import address_of, ancestor_names
from shouwang.core.models import AreaKind, User
from shouwang.core.paging import page_of
from shouwang.core.permissions import get_visible, require
from shouwang.patrol.forms import SnapshotUploadForm
from shouwang.patrol.models import Camera, CameraStatus, Checkpoint, Snapshot
from shouwang.patrol.perms import USE_CAMERAS, VIEW_CHECKPOINTS
from shouwang.patrol.services import snapshots


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
