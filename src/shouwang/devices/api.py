"""Device ingestion over HTTP, and the device list and detail for staff."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.security import APIKeyQuery, HttpBearer

from shouwang.core.api_types import BoundedPagination, Id
from shouwang.core.models import Area
from shouwang.core.permissions import get_visible, require
from shouwang.core.scoping import ScopedQuerySet
from shouwang.core.services import areas as area_service
from shouwang.devices import perms as device_perms
from shouwang.devices.adapters import ADAPTERS, DecodeError, SignatureError
from shouwang.devices.adapters.onenet import verify_url
from shouwang.devices.forms import filter_devices
from shouwang.devices.models import Device, DeviceStatus, DoorState, IngestKey
from shouwang.devices.services.ingest import Incoming, ingest, record_dead_letter
from shouwang.devices.services.keys import authenticate
from shouwang.devices.views import areas_of, device_place

ingest_router = Router(tags=["ingest"])
router = Router(tags=["devices"])


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> IngestKey | None:
        return authenticate(token)


class QueryKey(APIKeyQuery):
    """For platforms that cannot set a header (CTWing, OneNET): `?key=<ingest key>`."""

    param_name = "key"

    def authenticate(self, request: HttpRequest, key: str | None) -> IngestKey | None:
        return authenticate(key)


INGEST_AUTH = [BearerKey(), QueryKey()]


def _error(status: int, detail: str) -> HttpResponse:
    return JsonResponse(
        {"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _check_adapter(key: IngestKey, adapter: str) -> HttpResponse | None:
    if adapter not in ADAPTERS:
        return _error(404, f"unknown adapter {adapter!r}; known: {', '.join(sorted(ADAPTERS))}")
    if key.adapter != adapter:
        return _error(403, f"this ingest key is for {key.adapter!r}, not {adapter!r}")
    if not hasattr(ADAPTERS[adapter], "decode_http"):
        return _error(404, f"{adapter!r} messages arrive over MQTT, not HTTP")
    return None


@ingest_router.post("/ingest/{adapter}", auth=INGEST_AUTH, response={200: dict[str, int]})
def ingest_http(request: HttpRequest, adapter: str) -> Any:
    """Store one message or a batch. Answers 200 only after the batch is committed."""
    key: IngestKey = request.auth  # type: ignore[attr-defined]
    refused = _check_adapter(key, adapter)
    if refused is not None:
        return refused
    received_at: datetime = timezone.now()
    body = request.body
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        readings = ADAPTERS[adapter].decode_http(  # type: ignore[attr-defined]
            body, headers, key.config
        )
    except SignatureError as exc:
        record_dead_letter(adapter, "http", exc.reason, body, source=key.name, area=key.area)
        return _error(401, exc.reason)
    except DecodeError as exc:
        record_dead_letter(adapter, "http", exc.reason, body, source=key.name, area=key.area)
        return _error(422, exc.reason)
    items = [Incoming(r, received_at) for r in readings]
    result = ingest(items, "http", key.area)
    return result.as_dict()


@ingest_router.get("/ingest/{adapter}", auth=INGEST_AUTH)
def onenet_url_verification(request: HttpRequest, adapter: str) -> HttpResponse:
    """OneNET checks a push URL by GET with msg, nonce and signature; we echo msg back."""
    key: IngestKey = request.auth  # type: ignore[attr-defined]
    if adapter != "onenet":
        return _error(405, "use POST to push messages")
    refused = _check_adapter(key, adapter)
    if refused is not None:
        return refused
    try:
        msg = verify_url(request.GET, str(key.config.get("token", "")))
    except SignatureError as exc:
        return _error(401, exc.reason)
    return HttpResponse(msg, content_type="text/plain")


# --- Staff: the device list and one device ----------------------------------------------------

RECENT = 50


class DeviceOut(Schema):
    id: int
    adapter: str
    key: str = Field(description="The id the network uses (friendly name, DevEUI, IMEI…)")
    label: str
    hardware_id: str
    model: str
    status: DeviceStatus
    status_label: str
    area_id: int | None
    household_id: int | None
    address: str = Field(
        description="The household's address (compound down to the door) when installed, "
        "else the name of the area holding it in stock"
    )
    last_seen_at: datetime | None
    door: str
    door_changed_at: datetime | None
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool
    tamper: bool
    signal: int | None
    offline: bool
    offline_since: datetime | None


class EventOut(Schema):
    id: int
    event_time: datetime
    received_at: datetime
    kind: str
    door: str
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool | None
    tamper: bool | None
    online: bool | None
    signal: int | None
    stale: bool = Field(description="Arrived after a newer message: stored, changed nothing")
    transport: str


class HealthOut(Schema):
    id: int
    kind: str
    kind_label: str
    at: datetime


class InstallationOut(Schema):
    household_id: int
    address: str
    installed_at: datetime
    recovered_at: datetime | None


class DeviceDetailOut(DeviceOut):
    events: list[EventOut] = Field(description=f"The newest {RECENT} events, newest first")
    health_events: list[HealthOut] = Field(description=f"The newest {RECENT}, newest first")
    installations: list[InstallationOut]


class DeviceFilter(Schema):
    area: Id | None = None
    status: DeviceStatus | None = None
    adapter: str | None = Field(None, max_length=20)
    door: DoorState | None = None
    offline: bool | None = None
    battery_low: bool | None = None
    tamper: bool | None = None
    q: str | None = Field(None, max_length=64, description="device id, label or hardware id")


def _device_out(device: Device, names: dict[str, tuple[str, int]]) -> dict[str, Any]:
    return {
        "id": device.pk,
        "adapter": device.adapter,
        "key": device.key,
        "label": device.label,
        "hardware_id": device.hardware_id,
        "model": device.model,
        "status": device.status,
        "status_label": str(DeviceStatus(device.status).label),
        "area_id": device.area_id,
        "household_id": device.household_id,
        "address": device_place(device, names),
        "last_seen_at": device.last_seen_at,
        "door": device.door,
        "door_changed_at": device.door_changed_at,
        "battery_percent": device.battery_percent,
        "battery_mv": device.battery_mv,
        "battery_low": device.battery_low,
        "tamper": device.tamper,
        "signal": device.signal,
        "offline": device.offline,
        "offline_since": device.offline_since,
    }


class _DevicePage:
    """A lazily sliced device list: addresses for a page in one extra query."""

    def __init__(self, queryset: QuerySet[Device]) -> None:
        self.queryset = queryset

    def __len__(self) -> int:  # Ninja's paginator counts with len() on non-querysets
        return self.queryset.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        page = list(self.queryset[item])
        names = area_service.ancestor_names(areas_of(page))
        return [_device_out(d, names) for d in page]


def _devices() -> ScopedQuerySet[Device]:
    return Device.objects.select_related("area", "household__area")


@router.get("/devices", response=list[DeviceOut])
@paginate(BoundedPagination)
def list_devices(request: HttpRequest, filters: Query[DeviceFilter]) -> Any:
    require(request.user, device_perms.VIEW_DEVICES)
    queryset: QuerySet[Device] = _devices().visible_to(request.user)
    if filters.area:
        area = get_visible(request.user, Area, filters.area)
        queryset = queryset.filter(area__path__startswith=area.path)
    queryset = filter_devices(queryset, filters.dict())
    return _DevicePage(queryset.order_by("adapter", "key", "pk"))


@router.get("/devices/{device_id}", response=DeviceDetailOut)
def get_device(request: HttpRequest, device_id: Id) -> dict[str, Any]:
    require(request.user, device_perms.VIEW_DEVICES)
    device = get_visible(request.user, _devices(), device_id)
    installations = list(device.installations.select_related("household__area")[:RECENT])
    names = area_service.ancestor_names(
        [*areas_of([device]), *(i.household.area for i in installations)]
    )
    return {
        **_device_out(device, names),
        "events": list(device.events.all()[:RECENT]),
        "health_events": [
            {"id": h.pk, "kind": h.kind, "kind_label": h.get_kind_display(), "at": h.at}
            for h in device.health_events.all()[:RECENT]
        ],
        "installations": [
            {
                "household_id": i.household_id,
                "address": area_service.household_address(i.household, names),
                "installed_at": i.installed_at,
                "recovered_at": i.recovered_at,
            }
            for i in installations
        ],
    }
