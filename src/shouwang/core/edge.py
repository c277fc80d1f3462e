"""Input refused at the edge, before any view or service sees it.

PostgreSQL cannot store a NUL character in text, and no UTF-8 encoder (psycopg's included) can
encode a lone surrogate (JSON lets a client send one as "\\ud800"). Either one reaching a query
used to end in a 500, wherever the text went: a search, a filter, a comment, a reveal reason, a
gate field, an ingest key. No real name, address or code contains them, so they are refused for
the whole site in one place, with the field named: 422 and Ninja's error shape for the API, a
422 page for the staff and resident screens.

Ingest bodies are the exception: a vendor's message is the adapter's to decode, and one it cannot
decode is kept as a dead letter (the adapters refuse such device keys themselves).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
INGEST_PREFIX = "/api/v1/ingest/"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

# NUL, and UTF-16 surrogate code points that stand alone in a Python str (a valid pair in JSON
# decodes to one astral character, so any surrogate left is unpaired).
HOSTILE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Refusal:
    where: str  # "query", "form", "body", "path"
    field: tuple[str | int, ...]
    message: str

    @property
    def field_name(self) -> str:
        return ".".join(str(part) for part in self.field) or self.where


def is_hostile(text: str) -> bool:
    return HOSTILE.search(text) is not None


def _bad_text() -> str:
    return _("Contains a character that cannot be accepted (NUL or an unpaired surrogate).")


def in_pairs(where: str, pairs: Iterable[tuple[str, list[Any]]]) -> Refusal | None:
    for key, values in pairs:
        if is_hostile(key):
            return Refusal(where, (key.encode("utf-8", "backslashreplace").decode(),), _bad_text())
        for value in values:
            name = value.name if hasattr(value, "name") else value
            if isinstance(name, str) and is_hostile(name):
                return Refusal(where, (key,), _bad_text())
    return None


def in_json(value: Any, path: tuple[str | int, ...] = ()) -> Refusal | None:
    """The first string (key or value) in a decoded JSON document that may not be stored."""
    if isinstance(value, str):
        return Refusal("body", path, _bad_text()) if is_hostile(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and is_hostile(key):
                return Refusal("body", path, _bad_text())
            found = in_json(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = in_json(item, (*path, index))
            if found is not None:
                return found
    return None


def find(request: HttpRequest) -> Refusal | None:
    if is_hostile(request.path):
        return Refusal("path", (), _bad_text())
    found = in_pairs("query", request.GET.lists())
    if found is not None or request.path.startswith(INGEST_PREFIX):
        return found
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        try:
            found = in_pairs("form", request.POST.lists())
        except MultiPartParserError as exc:
            # e.g. multipart/form-data without a boundary: Django raises on first access.
            return Refusal(
                "body", (), _("The form data cannot be read: %(error)s") % {"error": exc}
            )
        return found or in_pairs("form", request.FILES.lists())
    if request.path.startswith(API_PREFIX) and request.body:
        try:
            document = json.loads(request.body)
        except ValueError:
            return None  # not JSON: the endpoint's own parser says what is wrong
        return in_json(document)
    return None


def api_refusal(refusal: Refusal) -> HttpResponse:
    # Ninja's own shape for a request that fails validation, so clients parse one format.
    issue = {"type": "value_error", "loc": [refusal.where, *refusal.field], "msg": refusal.message}
    return JsonResponse({"detail": [issue]}, status=422)


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = find(request)
        if refusal is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return api_refusal(refusal)
        return render(
            request,
            "core/bad_input.html",
            {"field": refusal.field_name, "message": refusal.message},
            status=422,
        )
