"""The screens: a worker's pages in and out of area, the resident's link without an account,
the export, and pinned query counts on the lists."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from shouwang.alerts.models import Alert
from shouwang.core.models import AuditLog
from shouwang.core.services.people import PersonData, create_household, create_person
from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.services.lifecycle import register_device
from shouwang.quarantine.models import Case, CaseStatus, HealthCheck, Source
from shouwang.quarantine.services import care, health
from shouwang.quarantine.services.care import CareData
from shouwang.quarantine.services.cases import CaseData, start_case
from tests.conftest import Town, login
from tests.quarantine.conftest import T0


def test_worker_pages_render_and_out_of_area_is_not_found(town: Town, case: Case) -> None:
    east, west = login(town.east_worker), login(town.west_worker)
    for name in ("/quarantine/", "/quarantine/cases/", "/quarantine/stats/", "/care/"):
        assert east.get(name).status_code == 200, name
    page = east.get(f"/quarantine/cases/{case.pk}/")
    assert page.status_code == 200
    assert "东风花园 3号楼 2单元501" in page.content.decode()
    assert "张*明" in page.content.decode()
    assert "张三明" not in page.content.decode()  # masked
    assert "no-store" in page["Cache-Control"]
    assert west.get(f"/quarantine/cases/{case.pk}/").status_code == 404
    assert west.get(f"/quarantine/cases/{case.pk}/notice/").status_code == 404
    assert (
        west.post(f"/quarantine/cases/{case.pk}/end/", {"status": "completed"}).status_code == 404
    )
    case.refresh_from_db()
    assert case.is_active
    assert login(town.gate_guard).get("/quarantine/cases/").status_code == 403
    assert Client().get("/quarantine/").status_code == 302  # login required


def test_notice_is_printable_with_dates(town: Town, case: Case) -> None:
    body = login(town.east_worker).get(f"/quarantine/cases/{case.pk}/notice/").content.decode()
    assert "2026-03-02" in body
    assert "2026-03-15" in body
    assert "东风花园 3号楼 2单元501" in body


def test_new_case_through_the_form(town: Town, stock_sensor: Device, clock: Any) -> None:
    client = login(town.east_worker)
    found = client.get("/quarantine/cases/new/", {"q": "501"}).content.decode()
    assert f"/quarantine/cases/new/{town.east_home.pk}/" in found
    url = f"/quarantine/cases/new/{town.east_home.pk}/"
    refused = client.post(url, {"people": [], "source": "", "starts_on": "2026-03-02", "days": 14})
    assert refused.status_code == 422
    assert not Case.objects.exists()
    response = client.post(
        url,
        {
            "people": [town.east_person.pk],
            "source": Source.CLOSE_CONTACT,
            "starts_on": "2026-03-02",
            "days": 14,
            "device": "door-q1",
        },
    )
    case = Case.objects.get()
    assert response["Location"] == f"/quarantine/cases/{case.pk}/"
    assert case.device == stock_sensor
    assert login(town.west_worker).get(url).status_code == 404


def test_resident_link_valid_forged_revoked_expired(
    town: Town, case: Case, clock: time_machine.Coordinates
) -> None:
    worker = login(town.east_worker)
    worker.post(f"/quarantine/cases/{case.pk}/link/", {"person": town.east_person.pk})
    page = worker.get(f"/quarantine/cases/{case.pk}/").content.decode()
    url = page.split('data-testid="link-url">')[1].split("<")[0]
    path = url.replace("http://testserver", "")
    assert path.startswith("/q/")
    # Shown once only.
    assert "link-url" not in worker.get(f"/quarantine/cases/{case.pk}/").content.decode()

    resident = Client()  # no account
    form = resident.get(path)
    assert form.status_code == 200
    assert "张*明" in form.content.decode()
    assert form["Referrer-Policy"] == "same-origin"
    bad = resident.post(path, {"temperature": "hot"})
    assert bad.status_code == 422
    assert not HealthCheck.objects.exists()
    done = resident.post(path, {"temperature": "36.6", "symptoms": ["cough"]})
    assert done.status_code == 200
    assert HealthCheck.objects.get().by_resident
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA/") else "BBBB") + "/"
    assert resident.get(forged).status_code == 404
    assert resident.get("/q/not-a-token/").status_code == 404

    link = case.links.get()
    worker.post(f"/quarantine/cases/{case.pk}/revoke/", {"link": link.pk})
    assert resident.get(path).status_code == 410
    assert resident.post(path, {"temperature": "36.6"}).status_code == 410

    _, token = health.issue_link(town.east_worker, case, town.east_person)
    clock.move_to(T0 + timedelta(days=14))
    assert resident.get(f"/q/{token}/").status_code == 410


def test_export_is_masked_and_audited(town: Town, case: Case) -> None:
    response = login(town.east_worker).post("/quarantine/cases/export/", {})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "张*明" in values
    assert "110105********002X" in values
    assert not any("张三明" in v or "13812345678" in v for v in values)
    entry = AuditLog.objects.get(action="quarantine.export")
    assert entry.details == {"cases": 1, "rows": 1, "unmasked": False, "reason": ""}
    assert login(town.west_worker).post("/quarantine/cases/export/", {}).status_code == 200
    assert (
        AuditLog.objects.filter(action="quarantine.export").order_by("pk").last().details["cases"]
        == 0
    )


def test_a_full_export_of_cases_asks_why_and_says_so_in_its_name(town: Town, case: Case) -> None:
    worker = login(town.east_worker)
    assert 'name="reason" required' in worker.get("/quarantine/cases/").content.decode()
    refused = worker.post("/quarantine/cases/export/", {"unmasked": "1"})
    assert refused.status_code == 302
    assert not AuditLog.objects.filter(action="quarantine.export").exists()
    response = worker.post("/quarantine/cases/export/", {"unmasked": "1", "reason": "上门核对"})
    assert 'filename="quarantine-unmasked-' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert "上门核对" in str(next(sheet.iter_rows(values_only=True))[0])
    entry = AuditLog.objects.get(action="quarantine.export")
    assert (entry.details["unmasked"], entry.details["reason"]) == (True, "上门核对")


def _many_cases(town: Town, n: int) -> None:
    for i in range(n):
        home = create_household(None, town.east_unit, f"6{i:02d}")
        person = create_person(None, home, PersonData.clean(f"居民{i}", "", "13800000000"))
        device = register_device(None, "generic", f"door-many-{i}", town.east)
        start_case(
            None,
            home,
            CaseData(
                [person],
                Source.RISK_AREA,
                device=device if i % 2 else None,
                no_device_reason="" if i % 2 else "缺货",
            ),
        )
        care.enrol(None, person, CareData())


@pytest.mark.parametrize("n", [1, 6])
def test_list_pages_make_a_fixed_number_of_queries(
    town: Town, clock: Any, n: int, django_assert_max_num_queries: Any
) -> None:
    _many_cases(town, n)
    client = login(town.east_worker)
    client.get("/quarantine/")  # warm the session
    for url, most in (
        ("/quarantine/", 14),
        ("/quarantine/cases/", 14),
        ("/care/", 14),
        ("/quarantine/stats/", 14),
    ):
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200, url


def test_morning_lists(town: Town, case: Case, clock: time_machine.Coordinates) -> None:
    client = login(town.east_worker)
    clock.move_to(T0 + timedelta(hours=4))  # 13:00: the morning check is missing
    page = client.get("/quarantine/").content.decode()
    assert page.split('data-testid="missing-checks"')[1].count("张*明") == 1
    clock.move_to(T0 + timedelta(days=13))  # the last day (sessions expire: log in again)
    client = login(town.east_worker)
    page = client.get("/quarantine/").content.decode()
    assert (
        f"/quarantine/cases/{case.pk}/"
        in page.split('data-testid="ending-today"')[1].split("</section>")[0]
    )
    client.post(f"/quarantine/cases/{case.pk}/end/", {"status": "completed"})
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    page = client.get("/quarantine/").content.decode()
    recover = page.split('data-testid="to-recover"')[1].split("</section>")[0]
    assert f"/quarantine/cases/{case.pk}/" in recover
    client.post(f"/quarantine/cases/{case.pk}/recover/", {"note": "ok"})
    case.refresh_from_db()
    assert case.recovered_at is not None
    assert Device.objects.get(pk=case.device_id).status == DeviceStatus.RECOVERED


def test_care_watch_through_the_pages(
    town: Town, stock_sensor: Device, clock: time_machine.Coordinates
) -> None:
    from shouwang.quarantine.alert_kinds import check_care_inactivity
    from shouwang.quarantine.models import CareEnrolment

    client = login(town.east_worker)
    found = client.get("/care/", {"q": "501"}).content.decode()
    assert f"/care/new/{town.east_person.pk}/" in found
    url = f"/care/new/{town.east_person.pk}/"
    form = {
        "active_from": "07:00",
        "active_until": "21:00",
        "inactive_hours": "6",
        "device": "door-q1",
        "contact_name": "张小明",
        "contact_relation": "儿子",
        "contact_phone": "1391234",
    }
    assert client.post(url, form).status_code == 422  # a bad phone number
    assert not CareEnrolment.objects.exists()
    response = client.post(url, {**form, "contact_phone": "13912345678"})
    enrolment = CareEnrolment.objects.get()
    assert response["Location"] == f"/care/{enrolment.pk}/"
    page = client.get(f"/care/{enrolment.pk}/").content.decode()
    assert "139****5678" in page
    assert "13912345678" not in page
    assert login(town.west_worker).get(f"/care/{enrolment.pk}/").status_code == 404
    client.post(f"/care/{enrolment.pk}/pause/", {"reason": "住院"})
    enrolment.refresh_from_db()
    assert enrolment.paused
    client.post(f"/care/{enrolment.pk}/resume/")
    enrolment.refresh_from_db()
    assert not enrolment.paused
    clock.move_to(T0 + timedelta(hours=7))
    check_care_inactivity()
    page = login(town.east_worker).get(f"/care/{enrolment.pk}/").content.decode()
    assert 'data-testid="family-notice"' in page


def test_bad_posts_on_the_case_page_say_why_and_change_nothing(town: Town, case: Case) -> None:
    client = login(town.east_worker)
    base = f"/quarantine/cases/{case.pk}"
    for action, data in (
        ("end-date", {"new_end": "2026-03-20", "reason": ""}),
        ("end-date", {"new_end": "not a date", "reason": "x"}),
        ("check", {"person": town.east_person.pk, "temperature": "99"}),
        ("check", {"person": town.west_person.pk, "temperature": "36.5"}),
        ("end", {"status": "ended_early", "reason": ""}),
        ("service", {"kind": "spa", "at": "2026-03-02T10:00", "minutes": 10}),
        ("revoke", {"link": "abc"}),
    ):
        response = client.post(f"{base}/{action}/", data, follow=True)
        assert response.status_code in (200, 404), action
        if response.status_code == 200:
            assert 'class="error"' in response.content.decode(), action
    case.refresh_from_db()
    assert case.is_active
    assert case.planned_end.isoformat() == "2026-03-15"
    assert not HealthCheck.objects.exists()
    assert not case.services.exists()
    assert client.post(f"{base}/nonsense/").status_code == 404


def _home_now(client: Client) -> str:
    page = client.get("/").content.decode()
    return page.split('data-testid="now"')[1].split("</section>")[0]


def _count(section: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}"><strong>(\d+)</strong>', section)
    assert found is not None, testid
    return int(found.group(1))


def test_the_workers_home_shows_what_needs_them_now(
    town: Town, case: Case, clock: time_machine.Coordinates, door: Any
) -> None:
    no_sensor = create_household(None, town.east_unit, "502")
    neighbour = create_person(None, no_sensor, PersonData.clean("钱七", "", ""))
    start_case(
        town.east_worker,
        no_sensor,
        CaseData([neighbour], Source.RISK_AREA, no_device_reason="缺货"),
    )
    clock.move_to(T0 + timedelta(hours=4))  # 13:00: both morning checks are missing
    door("door-q1", "open", T0 + timedelta(hours=4))  # the quarantined door opens
    client = login(town.east_worker)
    now = _home_now(client)
    assert _count(now, "now-alerts") == Alert.objects.exclude(status="resolved").count() >= 1
    assert _count(now, "now-checks") == 2
    assert "张*明" in now
    assert "钱*" in now
    assert _count(now, "now-install") == 1
    assert f"/quarantine/cases/{Case.objects.get(household=no_sensor).pk}/" in now
    assert _count(now, "now-ending") == 0
    assert _count(now, "now-recover") == 0
    # The other community's worker sees none of it; a guard gets the gate, not this.
    west = _home_now(login(town.west_worker))
    assert (_count(west, "now-alerts"), _count(west, "now-checks")) == (0, 0)
    assert "张*明" not in west

    clock.move_to(T0 + timedelta(days=13, hours=4))  # the case's last day
    client = login(town.east_worker)
    assert _count(_home_now(client), "now-ending") == 2  # both cases began on the same day
    client.post(f"/quarantine/cases/{case.pk}/end/", {"status": "completed"})
    assert _count(_home_now(client), "now-recover") == 1


@pytest.mark.parametrize("n", [1, 6])
def test_the_workers_home_makes_a_fixed_number_of_queries(
    town: Town, clock: Any, n: int, django_assert_max_num_queries: Any
) -> None:
    _many_cases(town, n)
    clock.move_to(T0 + timedelta(hours=4))
    client = login(town.east_worker)
    with django_assert_max_num_queries(22):
        page = client.get("/")
    assert page.content.decode().count("居*") >= n
