"""The workers' screens: home per role, adding and editing residents by hand."""

from __future__ import annotations

import logging
from typing import Any

from django.test import Client

from shouwang.core.models import AuditLog, Person
from tests.conftest import Town, login


def test_home_page_per_role(town: Town) -> None:
    worker = login(town.east_worker).get("/").content.decode()
    assert "东风社区" in worker
    assert "向阳社区" not in worker
    assert "导入居民名单" in worker
    operator = login(town.town_operator).get("/").content.decode()
    assert "东风社区" in operator
    assert "向阳社区" in operator
    # A guard's home is the gate itself (their compound), with no resident search.
    guard_client = login(town.gate_guard)
    home = guard_client.get("/")
    assert (home.status_code, home["Location"]) == (302, "/gate/")
    guard = guard_client.get("/", follow=True).content.decode()
    assert 'id="gate-config"' in guard
    assert "东风花园" in guard
    assert "导入居民名单" not in guard
    assert 'name="q"' not in guard


def test_worker_adds_a_resident_and_bad_input_names_the_field(town: Town) -> None:
    client = login(town.east_worker)
    url = f"/households/{town.east_home.pk}/add-resident/"
    bad = client.post(url, {"name": "王五", "id_number": "110101199003078516", "phone": "12"})
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "校验位" in page
    assert "手机号" in page
    assert Person.objects.count() == 2
    good = client.post(
        url, {"name": "王五", "id_number": "110101199003078515", "phone": "13800001111"}
    )
    assert good.status_code == 302
    person = Person.objects.get(name="王五")
    assert (person.household, person.phone) == (town.east_home, "13800001111")
    assert AuditLog.objects.filter(action="person.create", actor=town.east_worker).count() == 1


def test_duplicate_id_number_is_a_form_error(town: Town) -> None:
    response = login(town.east_worker).post(
        f"/households/{town.east_home.pk}/add-resident/",
        {"name": "冒名", "id_number": "11010519491231002X"},
    )
    assert response.status_code == 200
    assert "该身份证号已有居民登记" in response.content.decode()


def test_edit_keeps_blank_numbers_and_never_shows_them(town: Town) -> None:
    client = login(town.east_worker)
    url = f"/people/{town.east_person.pk}/edit/"
    form = client.get(url).content.decode()
    assert "13812345678" not in form
    assert "11010519491231002X" not in form
    assert client.post(url, {"name": "张三明", "id_number": "", "phone": ""}).status_code == 302
    town.east_person.refresh_from_db()
    assert town.east_person.phone == "13812345678"
    assert town.east_person.id_number == "11010519491231002X"
    client.post(url, {"name": "张三明", "phone": "13900000000"})
    town.east_person.refresh_from_db()
    assert town.east_person.phone == "13900000000"
    change = AuditLog.objects.get(action="person.update")
    assert change.details["changes"]["phone"] == ["138****5678", "139****0000"]


def test_other_community_cannot_add_or_edit(town: Town) -> None:
    client = login(town.east_worker)
    assert client.get(f"/households/{town.west_home.pk}/add-resident/").status_code == 404
    assert client.post(f"/people/{town.west_person.pk}/edit/", {"name": "x"}).status_code == 404
    assert login(town.gate_guard).get(f"/people/{town.east_person.pk}/edit/").status_code == 403


def test_search_by_full_id_never_puts_the_number_in_a_url(town: Town) -> None:
    client = login(town.east_worker)
    response = client.post("/people/", {"q": "11010519491231002X"})
    assert response.status_code == 302
    assert "11010519491231002X" not in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "张*明" in page
    assert "11010519491231002X" not in page  # not even echoed in the search box
    assert "110105********002X" in page


def test_search_by_name_and_phone(town: Town) -> None:
    client = login(town.east_worker)
    by_name = client.get(client.post("/people/", {"q": "张三"})["Location"]).content.decode()
    assert "张*明" in by_name
    by_phone = client.get(client.post("/people/", {"q": "138 1234 5678"})["Location"])
    assert "张*明" in by_phone.content.decode()
    other = client.get(client.post("/people/", {"q": "13987654321"})["Location"])
    assert "李*" not in other.content.decode()  # the west resident stays invisible


def test_api_refuses_identifying_numbers_in_the_query_string(town: Town) -> None:
    client = login(town.east_worker)
    assert client.get("/api/v1/people?q=11010519491231002X").status_code == 422
    found = client.post(
        "/api/v1/people/search", {"q": "11010519491231002X"}, content_type="application/json"
    ).json()
    assert [p["id"] for p in found] == [town.east_person.pk]
    assert client.get("/api/v1/people?q=张").json()["count"] == 1


def test_pager_links_keep_the_filters(town: Town) -> None:
    from shouwang.core.models import AreaKind
    from shouwang.core.services.areas import create_area
    from shouwang.core.services.people import create_household

    building = create_area(None, town.east_compound, "9号楼", AreaKind.BUILDING)
    for door in range(60):
        create_household(None, building, f"{door + 100}")
    page = login(town.east_worker).get(f"/households/?area={building.pk}").content.decode()
    assert f"?area={building.pk}&page=2" in page


def test_not_found_page_speaks_chinese(town: Town) -> None:
    response = login(town.east_worker).get(f"/people/{town.west_person.pk}/")
    assert response.status_code == 404
    assert "不存在" in response.content.decode() or "未找到" in response.content.decode()


def test_an_ordinary_403_or_404_logs_one_line_without_a_traceback(town: Town, caplog: Any) -> None:
    client = login(town.gate_guard)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/passes/").status_code == 403
        assert client.get(f"/people/{town.west_person.pk}/").status_code == 403
        assert login(town.east_worker).get(f"/people/{town.west_person.pk}/").status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.status_code for r in records] == [403, 403, 404]  # type: ignore[attr-defined]
    assert all(r.exc_info is None for r in records)
    assert "Traceback" not in caplog.text


def test_the_app_serves_its_own_favicon(client: Client, town: Town) -> None:
    answer = client.get("/favicon.ico", follow=True)
    assert answer.status_code == 200
    assert b"<svg" in b"".join(answer.streaming_content)  # type: ignore[attr-defined]
    page = login(town.east_worker).get("/").content.decode()
    assert 'rel="icon" href="/static/core/favicon.svg"' in page


def test_a_search_in_the_url_is_ignored_and_not_echoed(town: Town) -> None:
    client = login(town.east_worker)
    answer = client.get("/people/", {"q": "11010519491231002X", "tag": "x"})
    assert answer.status_code == 302
    assert answer["Location"] == "/people/?tag=x"
    page = client.get("/people/", {"q": "11010519491231002X"}, follow=True)
    assert "11010519491231002X" not in page.content.decode()
