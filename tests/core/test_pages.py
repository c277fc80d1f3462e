"""The workers' screens: home per role, adding and editing residents by hand."""

from __future__ import annotations

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
    guard = login(town.gate_guard).get("/").content.decode()
    assert "东风花园" in guard
    assert "导入居民名单" not in guard
    assert 'name="q"' not in guard  # no resident search for a guard


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
