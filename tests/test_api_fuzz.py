"""Schema-driven fuzzing of the whole JSON API from its own OpenAPI document.

Schemathesis reads the document the API serves at /api/v1/openapi.json and generates requests
for every operation, valid ones and invalid ones, sent through the real Django WSGI stack in
this process against the test database, logged in as staff. A response fails the test when it
is a 5xx, has a status the document does not declare for that operation, a wrong content type,
or a body that does not match the declared schema. Examples per operation and mode are bounded
(SHOUWANG_FUZZ_EXAMPLES, default 10) so the suite stays quick.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Town, login

EXAMPLES = int(os.environ.get("SHOUWANG_FUZZ_EXAMPLES", "10"))
CSRF = "f" * 32  # any 32 letters serve as a CSRF secret, as long as cookie and header agree
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    from shouwang.api import api

    return api.get_openapi_schema(path_prefix="/api/v1/")  # type: ignore[no-any-return]


def _operations() -> list[str]:
    loaded = schemathesis.openapi.from_dict(_document())
    return sorted(result.ok().label for result in loaded.get_all_operations())


@contextmanager
def keep_connection() -> Iterator[None]:
    # As Django's test client does: a request must not close the test transaction's connection
    # (close_old_connections closes one that is not in autocommit mode, i.e. every test's).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def staff_cookies(town: Town, settings: Any) -> dict[str, str]:
    settings.ALLOWED_HOSTS = ["*"]
    # The town operator reaches every staff operation across both communities.
    client = login(town.town_operator)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


def _client(cookies: dict[str, str]) -> Client:
    client = Client()
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", _operations())
def test_api_answers_as_documented(
    label: str, mode: GenerationMode, staff_cookies: dict[str, str]
) -> None:
    fetched = _client(staff_cookies).get("/api/v1/openapi.json")
    assert fetched.status_code == 200
    loaded = schemathesis.openapi.from_dict(fetched.json())
    loaded.app = get_wsgi_application()
    operation = loaded.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(cookies=staff_cookies, headers={"X-CSRFToken": CSRF}, checks=CHECKS)

    with keep_connection():
        run()
