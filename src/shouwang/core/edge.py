"""Input refused at the edge, before any view or service sees it.

PostgreSQL cannot store a NUL character in text, and no UTF-8 encoder (psycopg's included) can
encode a lone surrogate (JSON lets a client send one as "\\ud800"). Either one reaching a query
used to end in a 500, wherever the text went: a search, a filter, a comment, a reveal reason, a
gate field, an ingest key. No real name, address or code contains them, so they are refused for
the whole site in one place, with the field named: 422 and Ninja's error shape for the API.

On the screens a form field holding one is shown again, as typed, with the error on the field:
the middleware hands the view `RefusedData` instead of the query or form data, in which the
characters are replaced (U+FFFD) and each refused field is named; every form of the screens
(`core.forms.Form`) puts the error on that field. Anything else that reads a refused field
directly gets `Refused`, which the middleware answers with a 422 page naming the field, before
the value can reach a service. A refused name of a field or of a file, or a broken form body, is
that 422 page at once.

Ingest bodies are the exception: a vendor's message is the adapter's to decode, and one it cannot
decode is kept as a dead letter (the adapters refuse such device keys themselves).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
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


def replaced(text: str) -> str:
    return HOSTILE.sub("\ufffd", text)


class Refused(Exception):
    """A refused field was read other than through a form (see `RefusedData`)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.field_name)
        self.refusal = refusal


class RefusedData(QueryDict):
    """Query or form data some of whose fields held NUL or an unpaired surrogate: the values with
    those characters replaced, and `refused` naming each such field with its error. A form
    (`core.forms.Form`) takes the data `sanitised()` and shows the errors on the fields; reading
    a refused field any other way raises `Refused`."""

    def __init__(
        self,
        query_string: str | bytes | None = None,
        mutable: bool = False,
        encoding: str | None = None,
        refused: dict[str, str] | None = None,
        where: str = "form",
    ) -> None:
        super().__init__(query_string, mutable=mutable, encoding=encoding)
        self.refused = dict(refused or {})
        self.where = where

    @classmethod
    def of(cls, data: QueryDict, where: str) -> RefusedData | None:
        """`data` with its refused fields marked; None when a field's *name* is refused (there
        is no field to show an error on) or the CSRF token is (checked before any view)."""
        refused: dict[str, str] = {}
        result = cls(mutable=True, encoding=data.encoding, where=where)
        for key, values in data.lists():
            if is_hostile(key):
                return None
            if any(isinstance(v, str) and is_hostile(v) for v in values):
                if key == "csrfmiddlewaretoken":
                    return None
                refused[key] = _bad_text()
                values = [replaced(v) if isinstance(v, str) else v for v in values]
            result.setlist(key, values)
        result.refused = refused
        result._mutable = False
        return result

    def _check(self, key: str) -> None:
        if key in self.refused:
            raise Refused(Refusal(self.where, (key,), self.refused[key]))

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> list[Any]:
        self._check(key)
        return super().getlist(key, default)

    def sanitised(self) -> QueryDict:
        """The data as a plain QueryDict, refused characters replaced: for a form to show."""
        plain = QueryDict(mutable=True, encoding=self.encoding)
        for key, values in self.lists():
            plain.setlist(key, list(values))
        plain._mutable = False
        return plain

    def __copy__(self) -> RefusedData:
        result: RefusedData = super().__copy__()
        result.refused, result.where = dict(self.refused), self.where
        return result

    def __deepcopy__(self, memo: MutableMapping[int, Any]) -> RefusedData:
        result: RefusedData = super().__deepcopy__(memo)
        result.refused, result.where = dict(self.refused), self.where
        return result


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


def _marked(request: HttpRequest) -> bool:
    """Hand the view a posted form's data as `RefusedData`, if every refusal is in the value of
    one of its fields (False: the URL, a field's name, a file name or the body is refused; a
    filter in the URL is not a form being filled in, and its page would not show the error)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.content_type not in FORM_TYPES:
        return False
    if in_pairs("query", request.GET.lists()) or in_pairs("form", request.FILES.lists()):
        return False
    post = RefusedData.of(request.POST, "form")
    if post is None:
        return False
    # django-stubs type POST as the parsed, immutable kind; RefusedData is immutable too.
    request.POST = post  # type: ignore[assignment]
    return True


def refusal_page(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    return render(
        request,
        "core/bad_input.html",
        {"field": refusal.field_name, "message": refusal.message},
        status=422,
    )


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = find(request)
        if refusal is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return api_refusal(refusal)
        if refusal.where == "form" and _marked(request):
            # The screens: the form is shown again with the error on the field.
            return self.get_response(request)
        return refusal_page(request, refusal)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Refused):
            return refusal_page(request, exception.refusal)
        return None
