"""Hostile input is refused at the edge with the field named, never a 500 (issue 14).

Each case here used to end in a 500 on PostgreSQL (NUL, unpaired surrogates) or on both
databases (numbers beyond 64 bits, days at the ends of the calendar, a multipart body without a
boundary), or was stored (a gate scan dated 0001-01-01). The suite runs on both databases.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from shouwang.alerts.models import Alert, AlertEntry, Severity
from shouwang.alerts.services import alerting
from shouwang.alerts.services.alerting import Trigger
from shouwang.core import edge
from shouwang.core.models import AuditLog, Person
from shouwang.devices.models import DeadLetter, Device
from shouwang.devices.services.keys import create_ingest_key
from shouwang.passes.models import Scan
from shouwang.passes.services import gates
from tests.conftest import Town, login

NUL = "a\x00b"
HUGE = str(2**70)
# JSON text carrying an unpaired surrogate: valid JSON, but no UTF-8 can encode the string.
SURROGATE_JSON = '"x\\ud800y"'


@pytest.fixture
def alert(town: Town) -> Alert:
    return alerting.raise_alert(
        Trigger(
            kind="door_open",
            subject=f"household:{town.east_home.pk}",
            at=datetime(2026, 3, 2, 2, tzinfo=UTC),
            title="东风花园 3号楼 2单元 501",
            area=town.east_home.area,
            severity=Severity.CRITICAL,
            household=town.east_home,
        )
    )


def _issue(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 422, answer.content
    (issue,) = answer.json()["detail"]
    return issue  # type: ignore[no-any-return]


def post_json(client: Client, url: str, text: str) -> Any:
    return client.post(url, text, content_type="application/json")


def test_nul_in_a_page_search_or_filter_is_a_422_page_naming_the_field(town: Town) -> None:
    client = login(town.east_worker)
    for url in ["/people/", "/households/", "/devices/", "/alerts/board/", "/gate/log/"]:
        answer = client.get(url, {"q": NUL})
        assert answer.status_code == 422, url
        assert "“q”" in answer.content.decode(), url


def _bad_text() -> str:
    with translation.override("zh-hans"):
        return edge._bad_text()


def test_nul_in_a_screen_form_shows_the_form_again_with_the_error_on_the_field(
    town: Town,
) -> None:
    client = login(town.east_worker)
    before = Person.objects.count()
    url = f"/households/{town.east_home.pk}/add-resident/"
    answer = client.post(url, {"name": "王\x00五", "id_number": "", "phone": "13800001111"})
    assert answer.status_code == 200  # the form again, not a bare 422 page
    page = answer.content.decode()
    assert Person.objects.count() == before
    # As typed, the character that cannot be kept shown as such (a phone number is never put
    # back into the page: the form asks for it again).
    assert 'value="王\ufffd五"' in page
    # The error sits on the name field (its error list, which the input points to).
    errors = re.search(r'<ul class="errorlist" id="id_name_error"><li>(.*?)</li>', page)
    assert errors is not None
    assert errors.group(1) == _bad_text()
    assert 'aria-describedby="id_name_error"' in page
    assert 'id="id_phone_error"' not in page
    # Corrected, it goes through.
    done = client.post(url, {"name": "王五", "id_number": "", "phone": "13800001111"})
    assert done.status_code == 302
    assert Person.objects.count() == before + 1


def test_nul_in_a_form_field_read_without_a_form_is_still_a_422_page(
    town: Town, alert: Alert
) -> None:
    # The export's reason is read straight from the post: it never reaches the service.
    client = login(town.east_worker)
    answer = client.post("/people/export/", {"unmasked": "1", "reason": NUL})
    assert answer.status_code == 422
    assert "“reason”" in answer.content.decode()
    assert not AuditLog.objects.filter(action__contains="export").exists()
    # A refused field name, or the URL, is the 422 page at once.
    assert client.post("/people/export/", {NUL: "x"}).status_code == 422
    assert client.post(f"/alerts/{alert.pk}/comment/?next={NUL}", {"text": "ok"}).status_code == 422


def test_nul_in_an_alert_comment_or_a_posted_search_is_said_on_the_page(
    town: Town, alert: Alert
) -> None:
    client = login(town.east_worker)
    before = AlertEntry.objects.count()
    answer = client.post(f"/alerts/{alert.pk}/comment/", {"text": NUL}, follow=True)
    assert answer.status_code == 200
    assert _bad_text() in answer.content.decode()
    assert AlertEntry.objects.count() == before
    for url in ("/people/", "/passes/", "/gate/log/"):
        field = "issue_to" if url == "/passes/" else "q"
        found = client.post(url, {field: NUL}, follow=True)
        assert found.status_code == 200, url
        assert _bad_text() in found.content.decode(), url
        assert "?s=" not in found.redirect_chain[-1][0], url  # not run


def test_every_screen_form_shows_refused_fields_on_the_field() -> None:
    """Every form class of the screens derives from core.forms.Form, which puts the edge's
    refusals on their fields (a plain Django form would meet `Refused`: the 422 page)."""
    import importlib
    import importlib.util

    from django import forms as django_forms
    from django.apps import apps

    from shouwang.core.forms import Form

    for config in apps.get_app_configs():
        if config.name.startswith("shouwang.") and importlib.util.find_spec(f"{config.name}.forms"):
            importlib.import_module(f"{config.name}.forms")
    found: list[type] = []
    pending = list(django_forms.Form.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("shouwang."):
            found.append(cls)
    assert len(found) > 30
    plain = [c.__qualname__ for c in found if c is not Form and not issubclass(c, Form)]
    assert not plain, plain


def test_api_comment_with_nul_or_a_lone_surrogate_names_the_field(town: Town, alert: Alert) -> None:
    client = login(town.east_worker)
    url = f"/api/v1/alerts/{alert.pk}/comment"
    issue = _issue(client.post(url, {"text": NUL}, content_type="application/json"))
    assert issue["loc"] == ["body", "text"]
    issue = _issue(post_json(client, url, '{"text": ' + SURROGATE_JSON + "}"))
    assert issue["loc"] == ["body", "text"]
    # A real astral character (a surrogate *pair* in JSON) is fine.
    ok = post_json(client, url, '{"text": "\\ud83d\\ude00 ok"}')
    assert ok.status_code == 201, ok.content
    assert ok.json()["text"] == "\U0001f600 ok"


def test_api_search_filters_and_reveal_reason_refuse_nul_and_surrogates(town: Town) -> None:
    client = login(town.east_worker)
    assert _issue(client.get("/api/v1/people", {"q": NUL}))["loc"] == ["query", "q"]
    assert _issue(client.get("/api/v1/alerts", {"kind": NUL}))["loc"] == ["query", "kind"]
    search = post_json(client, "/api/v1/people/search", '{"q": ' + SURROGATE_JSON + "}")
    assert _issue(search)["loc"] == ["body", "q"]
    reveal = client.post(
        f"/api/v1/people/{town.east_person.pk}/reveal",
        {"field": "phone", "reason": NUL},
        content_type="application/json",
    )
    assert _issue(reveal)["loc"] == ["body", "reason"]
    assert not AuditLog.objects.filter(action__contains="reveal").exists()


def test_gate_fields_with_nul_are_refused(town: Town) -> None:
    _, key = gates.create_gate_device(town.admin, "东门闸机", town.east_compound)
    turnstile = Client(headers={"authorization": f"Bearer {key}"})
    body = {"code": "SW1:" + NUL, "gate": "东门"}
    answer = turnstile.post("/api/v1/gate/verify", body, content_type="application/json")
    assert _issue(answer)["loc"] == ["body", "code"]
    assert not Scan.objects.exists()  # the fast lane: tests/passes/test_fast_path.py


def test_ingest_key_or_device_key_with_nul_is_refused_not_a_500(town: Town) -> None:
    key = create_ingest_key(None, "网关一号", "generic")[1]
    assert _issue(Client().post(f"/api/v1/ingest/generic?key={NUL}"))["loc"] == ["query", "key"]
    body = json.dumps({"device": NUL, "door": "open"})
    answer = Client().post(
        "/api/v1/ingest/generic",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert answer.status_code == 422, answer.content
    assert "device_key" in answer.json()["detail"]
    assert not Device.objects.exists()
    assert DeadLetter.objects.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/alerts",
        "/api/v1/devices",
        "/api/v1/households",
        "/api/v1/people",
        "/api/v1/quarantine/cases",
    ],
)
def test_every_paginated_list_bounds_limit_and_offset(town: Town, url: str) -> None:
    client = login(town.town_operator)
    assert _issue(client.get(url, {"offset": HUGE}))["loc"] == ["query", "offset"]
    assert _issue(client.get(url, {"limit": HUGE}))["loc"] == ["query", "limit"]
    assert client.get(url, {"limit": 5, "offset": 2**31 - 1}).json()["items"] == []


def test_ids_beyond_64_bits_are_a_422_not_an_overflow(town: Town) -> None:
    client = login(town.town_operator)
    for url in [f"/api/v1/alerts/{HUGE}", f"/api/v1/people/{HUGE}", f"/api/v1/devices/{HUGE}"]:
        assert client.get(url).status_code == 422, url
    assert _issue(client.get("/api/v1/alerts", {"area": HUGE}))["loc"] == ["query", "area"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_days_at_the_ends_of_the_calendar(town: Town, alert: Alert, day: str) -> None:
    client = login(town.east_worker)
    for name in ("date_from", "date_to"):
        assert _issue(client.get("/api/v1/alerts", {name: day}))["loc"] == ["query", name]
        for page in ("/alerts/board/", "/alerts/stats/"):
            answer = client.get(page, {name: day})
            assert answer.status_code == 200, (page, name)


def test_a_multipart_body_without_a_boundary_is_a_422(town: Town) -> None:
    client = login(town.gate_guard)
    answer = client.generic(
        "POST",
        "/api/v1/gate/photo",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
        content_type="multipart/form-data",
    )
    assert _issue(answer)["loc"] == ["body"]
    page = client.generic("POST", "/gate/", b"a", content_type="multipart/form-data")
    assert page.status_code == 422


def test_a_gate_scan_dated_year_one_is_refused(town: Town) -> None:
    _, key = gates.create_gate_device(town.admin, "东门闸机", town.east_compound)
    scan = {
        "scan_id": "queued-0001",
        "code": "SW1:whatever",
        "at": "0001-01-01T00:00:00+00:00",
        "allowed": True,
        "reason": "ok",
    }
    answer = Client(headers={"authorization": f"Bearer {key}"}).post(
        "/api/v1/gate/scans", {"scans": [scan]}, content_type="application/json"
    )
    assert answer.status_code == 422, answer.content
    assert answer.json()["detail"]["scans"][0].startswith("第 1 条")
    assert not Scan.objects.exists()


def test_the_photo_endpoints_errors_match_its_document(town: Town) -> None:
    client = login(town.gate_guard)
    document = client.get("/api/v1/openapi.json").json()
    declared = document["paths"]["/api/v1/gate/photo"]["post"]["responses"]["422"]
    assert declared["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    missing = client.post("/api/v1/gate/photo", {"compound_id": town.east_compound.pk})
    assert isinstance(_issue(missing)["loc"], list)  # Ninja's list, declared by Problem


def test_api_docs_are_for_staff_unless_opened(town: Town, settings: Any) -> None:
    anonymous = Client()
    assert anonymous.get("/api/v1/openapi.json").status_code == 401
    docs = anonymous.get("/api/v1/docs")
    assert docs.status_code == 302
    assert docs["Location"].startswith("/login/")
    assert login(town.gate_guard).get("/api/v1/openapi.json").status_code == 200
    settings.API_DOCS_PUBLIC = True
    assert anonymous.get("/api/v1/openapi.json").status_code == 200


def test_styles_come_from_files_except_on_the_admin_and_api_document_pages(town: Town) -> None:
    client = login(town.admin)
    for url in ("/", "/people/", "/devices/", "/login/", "/api/v1/people"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "style-src 'self';" in policy, url
        assert "unsafe-inline" not in policy, url
    for url in ("/admin/", "/api/v1/docs"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "style-src 'self' 'unsafe-inline'" in policy, url
        assert "script-src 'self';" in policy, url  # scripts as strict there


def test_no_template_of_the_screens_carries_a_style_attribute_or_element() -> None:
    # What the browser test would find on a screen it visits; this finds it on every one.
    from pathlib import Path

    import shouwang

    root = Path(shouwang.__file__).parent
    found = [
        str(path.relative_to(root))
        for path in root.glob("*/templates/**/*.html")
        if "/admin/" not in str(path)
        and re.search(r"<style|\sstyle=", path.read_text(encoding="utf-8"))
    ]
    assert not found, found
