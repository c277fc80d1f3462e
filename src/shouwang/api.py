"""The JSON API under /api/v1/, with its OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from shouwang.alerts.api import router as alert_router
from shouwang.core.api import router as core_router
from shouwang.devices.api import ingest_router
from shouwang.devices.api import router as device_router
from shouwang.passes.api import router as passes_router
from shouwang.quarantine.api import router as quarantine_router

api = NinjaAPI(
    title="Shouwang API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    description="Staff API. Personal values are masked; revealing one is audited.",
)
api.add_router("/", core_router)
api.add_router("/", ingest_router)
api.add_router("/", device_router)
api.add_router("/", alert_router)
api.add_router("/", quarantine_router)
api.add_router("/", passes_router)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)
