"""Device screens for staff. Thin: parse the request, call a lifecycle action, render.

Every query goes through `Device.objects.visible_to(user)`, so a device outside the user's
areas is "not found" here exactly as in the API.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shouwang.core.models import Area, AreaKind, Household
from shouwang.core.paging import page_of, query_without_page
from shouwang.core.permissions import get_visible, require
from shouwang.core.scoping import ScopedQuerySet
from shouwang.core.services import areas as area_service
from shouwang.devices import perms as device_perms
from shouwang.devices.forms import (
    ClaimForm,
    DeviceFilterForm,
    InstallForm,
    NoteForm,
    RecoverForm,
    claim_areas,
    filter_devices,
    find_households,
)
from shouwang.devices.models import DeadLetter, Device, DeviceStatus
from shouwang.devices.mqtt_bridge import status as bridge_status
from shouwang.devices.services import lifecycle

HEALTH_SHOWN = 30
PAYLOAD_SHOWN = 500


def areas_of(devices: list[Device]) -> list[Area]:
    """The areas whose names a page of devices shows (for one `ancestor_names` query)."""
    areas = [d.household.area for d in devices if d.household is not None]
    return areas + [d.area for d in devices if d.area is not None]


def device_place(device: Device, names: dict[str, tuple[str, int]]) -> str:
    """Where the device is: its household's address, or the area holding it in stock."""
    if device.household is not None:
        return area_service.household_address(device.household, names)
    return device.area.name if device.area is not None else ""


def _devices() -> ScopedQuerySet[Device]:
    return Device.objects.select_related("area", "household__area")


@require_GET
def device_list(request: HttpRequest) -> HttpResponse:
    require(request.user, device_perms.VIEW_DEVICES)
    form = DeviceFilterForm(request.GET)
    filters = form.filters()
    queryset = filter_devices(_devices().visible_to(request.user), filters)
    area = None
    if filters.get("area"):
        area = get_visible(request.user, Area, filters["area"])
        queryset = queryset.filter(area__path__startswith=area.path)
    page = page_of(request, queryset.order_by("adapter", "key", "pk"))
    names = area_service.ancestor_names(areas_of(list(page)))
    rows = [(d, device_place(d, names)) for d in page]
    return render(
        request,
        "devices/device_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "area": area,
            "extra": query_without_page(request),
        },
    )


def _allowed_actions(user: Any, device: Device) -> set[str]:
    if not lifecycle.can_manage(user, device):
        return set()
    return {
        DeviceStatus.UNCLAIMED: {"claim"},
        DeviceStatus.IN_STOCK: {"install", "retire", "lost"},
        DeviceStatus.RECOVERED: {"install", "restock", "retire", "lost"},
        DeviceStatus.INSTALLED: {"recover", "lost"},
    }.get(DeviceStatus(device.status), set())


@require_GET
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, device_perms.VIEW_DEVICES)
    device = get_visible(request.user, _devices(), pk)
    events = page_of(request, device.events.all())
    health = list(device.health_events.all()[:HEALTH_SHOWN])
    installations = list(
        device.installations.select_related("household__area", "installed_by", "recovered_by")
    )
    names = area_service.ancestor_names(
        [*areas_of([device]), *(i.household.area for i in installations)]
    )
    actions = _allowed_actions(request.user, device)
    return render(
        request,
        "devices/device_detail.html",
        {
            "device": device,
            "place": device_place(device, names),
            "address": (
                area_service.household_address(device.household, names, AreaKind.COMMUNITY)
                if device.household is not None
                else ""
            ),
            "events": events,
            "health": health,
            "installations": [
                (i, area_service.household_address(i.household, names)) for i in installations
            ],
            "actions": actions,
            "claim_form": ClaimForm(
                user=request.user, initial={"model": device.model, "label": device.label}
            )
            if "claim" in actions
            else None,
        },
    )


_ACTIONS: dict[str, tuple[Callable[..., Device], Any]] = {
    "recover": (
        lifecycle.recover_device,
        gettext_lazy("Device recovered; it is back in the community's stock."),
    ),
    "restock": (
        lifecycle.restock_device,
        gettext_lazy("Device is back in stock, ready to be installed."),
    ),
    "retire": (lifecycle.retire_device, gettext_lazy("Device retired.")),
    "lost": (lifecycle.mark_lost, gettext_lazy("Device marked as lost.")),
}


@require_POST
def device_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    require(request.user, device_perms.MANAGE_DEVICES)
    if action not in _ACTIONS:
        raise Http404
    device = get_visible(request.user, _devices(), pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    act, done = _ACTIONS[action]
    try:
        act(request.user, device, note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, str(done))
    return redirect("device-detail", pk=device.pk)


@require_POST
def device_claim(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, device_perms.MANAGE_DEVICES)
    device = get_visible(request.user, _devices(), pk)
    form = ClaimForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            lifecycle.claim_device(
                request.user,
                device,
                form.cleaned_data["area"],
                model=form.cleaned_data["model"].strip(),
                label=form.cleaned_data["label"].strip(),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Device claimed into stock at %(area)s.") % {"area": form.cleaned_data["area"]},
            )
            return redirect("device-detail", pk=device.pk)
    else:
        problems = [str(e) for errors in form.errors.values() for e in errors]
        messages.error(request, _("Not claimed: %(errors)s") % {"errors": " ".join(problems)})
    if request.POST.get("next") == "unclaimed":
        return redirect("device-unclaimed")
    return redirect("device-detail", pk=device.pk)


def _form_error(form: Any, exc: ValidationError) -> None:
    form.add_error(None, exc.messages)


@require_http_methods(["GET", "POST"])
def install(request: HttpRequest) -> HttpResponse:
    """Scan (or type) the device id, find the household by its door number, confirm."""
    require(request.user, device_perms.MANAGE_DEVICES)
    data = request.POST if request.method == "POST" else request.GET
    form = InstallForm(data if data.get("device") else None, user=request.user)
    device = household = None
    results: list[tuple[Household, str]] | None = None
    address = ""
    if form.is_bound and form.is_valid():
        device = form.cleaned_data["device"]
        household = form.cleaned_data["household"]
        if household is not None:
            names = area_service.ancestor_names([household.area])
            address = area_service.household_address(household, names)
            if request.method == "POST" and form.cleaned_data["confirm"]:
                try:
                    lifecycle.install_device(request.user, device, household)
                except ValidationError as exc:
                    _form_error(form, exc)
                    device = household = None
                else:
                    messages.success(
                        request,
                        _("Device %(device)s installed at %(address)s.")
                        % {"device": device, "address": address},
                    )
                    return redirect("device-detail", pk=device.pk)
        elif form.cleaned_data["q"]:
            results = find_households(request.user, form.cleaned_data["q"])
    elif form.is_bound and "device" not in form.errors:
        # The device is fine but the household is not (out of scope, gone): pick again.
        device = form.cleaned_data.get("device")
    return render(
        request,
        "devices/install.html",
        {
            "form": form,
            "device": device,
            "household": household,
            "address": address,
            "results": results,
        },
    )


@require_http_methods(["GET", "POST"])
def recover(request: HttpRequest) -> HttpResponse:
    """Scan the device id, see where it is installed, confirm."""
    require(request.user, device_perms.MANAGE_DEVICES)
    data = request.POST if request.method == "POST" else request.GET
    form = RecoverForm(data if data.get("device") else None, user=request.user)
    device = None
    place = ""
    if form.is_bound and form.is_valid():
        device = form.cleaned_data["device"]
        place = device_place(device, area_service.ancestor_names(areas_of([device])))
        if request.method == "POST" and form.cleaned_data["confirm"]:
            try:
                lifecycle.recover_device(request.user, device)
            except ValidationError as exc:
                _form_error(form, exc)
                device = None
            else:
                messages.success(
                    request,
                    _("Device %(device)s recovered from %(address)s.")
                    % {"device": device, "address": place},
                )
                return redirect("device-recover")
    return render(request, "devices/recover.html", {"form": form, "device": device, "place": place})


@require_GET
def unclaimed(request: HttpRequest) -> HttpResponse:
    """Devices heard from but never registered, for an operator to take into stock."""
    require(request.user, device_perms.VIEW_DEVICES)
    queryset = (
        Device.objects.visible_to(request.user)
        .filter(status=DeviceStatus.UNCLAIMED)
        .select_related("area")
        .order_by(F("last_seen_at").desc(nulls_last=True), "pk")
    )
    page = page_of(request, queryset)
    can_claim = request.user.has_perm(device_perms.MANAGE_DEVICES)
    return render(
        request,
        "devices/unclaimed.html",
        {
            "page": page,
            "can_claim": can_claim,
            "areas": list(claim_areas(request.user)) if can_claim and page else [],
        },
    )


@require_GET
def dead_letters(request: HttpRequest) -> HttpResponse:
    """Messages that could not be decoded: newest first, with the counts of the last day."""
    require(request.user, device_perms.VIEW_DEAD_LETTERS)
    since = timezone.now() - timedelta(hours=24)
    letters = DeadLetter.objects.visible_to(request.user)
    counts = list(
        letters.filter(received_at__gte=since)
        .values_list("adapter")
        .annotate(n=Count("id"))
        .order_by("-n", "adapter")
    )
    queryset = letters.defer("payload", "body").annotate(
        # A payload may be 64 KB: the list reads only its head.
        payload_head=Substr("payload", 1, PAYLOAD_SHOWN + 1)
    )
    adapter = request.GET.get("adapter", "")
    if adapter:
        queryset = queryset.filter(adapter=adapter)
    return render(
        request,
        "devices/dead_letters.html",
        {
            "counts": counts,
            "adapter": adapter,
            "page": page_of(request, queryset.order_by("-received_at", "-id")),
            "extra": query_without_page(request),
            "payload_shown": PAYLOAD_SHOWN,
        },
    )


@require_GET
def dead_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """One dead letter in full: its readable text and its exact bytes (base64)."""
    require(request.user, device_perms.VIEW_DEAD_LETTERS)
    letter = get_visible(request.user, DeadLetter, pk)
    return render(
        request,
        "devices/dead_letter.html",
        {"d": letter, "body_base64": base64.b64encode(bytes(letter.body)).decode()},
    )


@require_GET
def ingest_health(request: HttpRequest) -> HttpResponse:
    """How the ingest path is doing: each MQTT bridge of this host (connected, broker or
    database unreachable, a lost session), and what could not be taken in lately."""
    require(request.user, device_perms.VIEW_DEAD_LETTERS)
    since = timezone.now() - timedelta(hours=24)
    bridges = [
        {
            "status": s,
            "since": datetime.fromtimestamp(s.since, UTC),
            "session_lost_at": (
                datetime.fromtimestamp(s.session_lost_at, UTC) if s.session_lost_at else None
            ),
        }
        for s in bridge_status.read_all()
    ]
    return render(
        request,
        "devices/ingest_health.html",
        {
            "bridges": bridges,
            "dead_letters": DeadLetter.objects.visible_to(request.user)
            .filter(received_at__gte=since)
            .count(),
            "offline": Device.objects.visible_to(request.user)
            .filter(status=DeviceStatus.INSTALLED, offline=True)
            .count(),
        },
    )
