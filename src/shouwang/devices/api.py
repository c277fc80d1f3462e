"""Device ingestion over HTTP, and the device list and detail for staff."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router
from ninja.security import APIKeyQuery, HttpBearer

from shouwang.devices.adapters import ADAPTERS, DecodeError, SignatureError
from shouwang.devices.adapters.onenet import verify_url
from shouwang.devices.models import IngestKey
from shouwang.devices.services import ingest as ingest_service
from shouwang.devices.services.keys import authenticate

ingest_router = Router(tags=["ingest"])


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
        ingest_service.record_dead_letter(adapter, "http", exc.reason, body, source=key.name)
        return _error(401, exc.reason)
    except DecodeError as exc:
        ingest_service.record_dead_letter(adapter, "http", exc.reason, body, source=key.name)
        return _error(422, exc.reason)
    items = [ingest_service.Incoming(r, received_at) for r in readings]
    result = ingest_service.ingest(items, "http", key.area)
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
