"""The batch API for HR systems: an organisation key, members named by ID number within that
organisation only, all or nothing, and a per-key rate limit (injected clock)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client

from shouwang.reporting.models import Declaration, Source
from shouwang.reporting.services import keys
from tests.reporting.conftest import T0, Orgs


def _post(key: str, body: dict) -> object:
    return Client().post(
        "/api/v1/reporting/declarations",
        body,
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )


def test_a_batch_by_id_number_is_stored(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    _key, plaintext = keys.create_key(None, orgs.acme, "HR")
    body = {
        "day": T0.date().isoformat(),
        "declarations": [
            {"id_number": people["acme1"].id_number, "temperature": 36.5},
            {"id_number": people["acme2"].id_number.lower(), "temperature": "38.0"},
        ],
    }
    answer = _post(plaintext, body)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"stored": 2, "fevers": 1, "alerts": 1}
    assert set(Declaration.objects.values_list("source", flat=True)) == {Source.API}


def test_another_organisations_member_or_a_bad_key_is_refused(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    _key, plaintext = keys.create_key(None, orgs.acme, "HR")
    body = {
        "day": T0.date().isoformat(),
        "declarations": [
            {"id_number": people["acme1"].id_number, "temperature": 36.5},
            {"id_number": people["rival1"].id_number, "temperature": 36.5},
        ],
    }
    answer = _post(plaintext, body)
    assert answer.status_code == 422
    assert "declarations.1.id_number" in answer.json()["detail"]
    assert not Declaration.objects.exists()
    assert _post("swo_" + "x" * 43, body).status_code == 401


def test_the_rate_limit_is_per_key_and_minute(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    _key, plaintext = keys.create_key(None, orgs.acme, "HR", per_minute=2)
    body = {
        "day": T0.date().isoformat(),
        "declarations": [{"id_number": people["acme1"].id_number, "temperature": 36.5}],
    }
    assert _post(plaintext, body).status_code == 200
    assert _post(plaintext, body).status_code == 200
    assert _post(plaintext, body).status_code == 429
    clock.shift(timedelta(minutes=1))
    assert _post(plaintext, body).status_code == 200
