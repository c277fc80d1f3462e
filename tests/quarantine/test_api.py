"""The staff JSON API for cases: scoped, masked, with clear errors and pinned query counts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shouwang.quarantine.models import Case, CaseStatus, HealthCheck
from tests.conftest import Town, login


def test_list_and_detail_are_scoped_and_masked(
    town: Town, case: Case, django_assert_max_num_queries: Any
) -> None:
    east = login(town.east_worker)
    with django_assert_max_num_queries(10):
        listed = east.get("/api/v1/quarantine/cases").json()
    assert listed["count"] == 1
    [item] = listed["items"]
    assert item["address"] == "东风花园 3号楼 2单元501"
    assert item["people"] == [{"id": town.east_person.pk, "name": "张*明"}]
    assert login(town.west_worker).get("/api/v1/quarantine/cases").json()["count"] == 0
    assert login(town.west_worker).get(f"/api/v1/quarantine/cases/{case.pk}").status_code == 404
    assert east.get("/api/v1/quarantine/cases?status=completed").json()["count"] == 0
    assert east.get("/api/v1/quarantine/cases?status=bogus").status_code == 422


def test_enter_a_check_and_end_through_the_api(town: Town, case: Case) -> None:
    east = login(town.east_worker)
    url = f"/api/v1/quarantine/cases/{case.pk}"

    def post(path: str, body: dict[str, Any]) -> Any:
        return east.post(url + path, json.dumps(body), content_type="application/json")

    bad = post("/checks", {"person_id": town.east_person.pk, "temperature": "warm"})
    assert bad.status_code == 422
    assert "temperature" in bad.json()["detail"]
    assert (
        post("/checks", {"person_id": town.west_person.pk, "temperature": "36.5"}).status_code
        == 404
    )
    created = post("/checks", {"person_id": town.east_person.pk, "temperature": "38.1"})
    assert created.status_code == 201
    assert created.json()["fever"] is True
    assert HealthCheck.objects.count() == 1
    assert post("/end", {"status": "transferred"}).status_code == 422  # needs a reason
    ended = post("/end", {"status": "transferred", "reason": "转定点医院"})
    assert ended.status_code == 200
    assert ended.json()["status"] == CaseStatus.TRANSFERRED


@pytest.mark.parametrize("user", ["gate_guard"])
def test_roles_without_quarantine_work_are_refused(town: Town, case: Case, user: str) -> None:
    assert login(getattr(town, user)).get("/api/v1/quarantine/cases").status_code == 403
