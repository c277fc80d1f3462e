"""The JSON API under /api/v1/, with its OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from shouwang.alerts.api import router as alert_router
from shouwang.core.api import router as core_router
from shouwang.core.api_types import Problem
from shouwang.devices.api import ingest_router
from shouwang.devices.api import router as device_router
from shouwang.passes.api import router as passes_router
from shouwang.quarantine.api import router as quarantine_router
from shouwang.reporting.api import router as reporting_router

# What any operation may answer besides its own success: the document declares them all, with
# one body schema (Problem), so a client can rely on it and the fuzz test holds us to it.
ERRORS = {
    "400": "The body cannot be parsed",
    "401": "Not logged in, or no valid key",
    "403": "The account's role does not allow this",
    "404": "No such object, or it lies outside the caller's areas",
    "422": "A field is missing or invalid; `detail` says which",
}


def staff_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The document and its browser view are for logged-in staff, unless
    SHOUWANG_API_DOCS_PUBLIC opens them (an integrator's test system)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.API_DOCS_PUBLIC or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            return JsonResponse({"detail": "Unauthorized"}, status=401)
        return redirect_to_login(request.get_full_path())

    return guarded


class ShouwangAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        document = super().get_openapi_schema(**kwargs)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in document["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERRORS.items():
                    responses.setdefault(status, {"description": description, "content": body})
        return document


api = ShouwangAPI(
    title="Shouwang API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    description="Staff API. Personal values are masked; revealing one is audited.",
    docs_decorator=staff_docs,
)
api.add_router("/", core_router)
api.add_router("/", ingest_router)
api.add_router("/", device_router)
api.add_router("/", alert_router)
api.add_router("/", quarantine_router)
api.add_router("/", passes_router)
api.add_router("/", reporting_router)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)
