"""Roster import: all rows or none, row-numbered reasons, idempotent re-import."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import translation
from openpyxl import Workbook

from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person
from shouwang.core.services.people import find_by_id_number
from shouwang.core.services.roster import import_roster
from tests.conftest import Town, login


@pytest.fixture(autouse=True)
def _english_reasons() -> Any:
    # Reasons are asserted on in English; the UI default is Chinese.
    with translation.override("en"):
        yield


HEADER = ["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"]
GOOD = [
    ["王小明", "110101199003078515", "13800001111", "5", "1", "101", "老年人"],
    ["王大明", "110105194912310097", "13800002222", "5号楼", "1单元", "101室", "独居老人、残疾人"],
    ["赵六", "", "", "6栋", "", "201", ""],
]


def xlsx(rows: list[list[Any]], title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(HEADER), *(",".join(str(c) for c in r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def snapshot() -> tuple[int, int, int, list[tuple[Any, ...]]]:
    return (
        Area.objects.count(),
        Household.objects.count(),
        Person.objects.count(),
        sorted(Person.objects.values_list("id", "name", "household_id", "phone_index")),
    )


def test_good_file_creates_buildings_units_households_and_people(town: Town) -> None:
    report = import_roster(town.east_worker, town.east_compound, "roster.xlsx", xlsx(GOOD))
    assert report.ok, report.errors
    assert (report.created_people, report.created_households, report.created_areas) == (3, 2, 3)
    person = find_by_id_number(town.east_worker, "110105194912310097")
    assert person is not None
    assert person.name == "王大明"
    assert person.phone == "13800002222"
    assert person.household == find_by_id_number(None, "110101199003078515").household
    assert person.household.door == "101"
    assert person.household.area.name == "1单元"
    assert Area.objects.get_parent(person.household.area).name == "5号楼"
    assert sorted(t.code for t in person.tags.all()) == ["disabled", "living_alone"]
    no_unit = Person.objects.get(name="赵六")
    assert no_unit.household.area.kind == AreaKind.BUILDING
    assert no_unit.id_number is None
    assert no_unit.phone is None


def test_reimporting_the_same_file_changes_nothing(town: Town) -> None:
    data = xlsx(GOOD)
    assert import_roster(town.east_worker, town.east_compound, "a.xlsx", data).ok
    before = snapshot()
    updated = Person.objects.order_by("id").values_list("updated_at", flat=True)
    stamps = list(updated)
    again = import_roster(town.east_worker, town.east_compound, "a.xlsx", data)
    assert again.ok
    assert (again.created_people, again.updated_people, again.unchanged_people) == (0, 0, 3)
    assert (again.created_households, again.created_areas) == (0, 0)
    assert snapshot() == before
    assert list(updated.all()) == stamps


def test_a_changed_row_updates_that_person_only_and_is_audited(town: Town) -> None:
    import_roster(town.east_worker, town.east_compound, "a.xlsx", xlsx(GOOD))
    changed = [list(r) for r in GOOD]
    changed[0][2] = "13900009999"
    changed[0][5] = "102"
    report = import_roster(town.east_worker, town.east_compound, "b.xlsx", xlsx(changed))
    assert (report.updated_people, report.unchanged_people, report.created_households) == (1, 2, 1)
    person = find_by_id_number(None, "110101199003078515")
    assert person is not None
    assert (person.phone, person.household.door) == ("13900009999", "102")
    entry = AuditLog.objects.filter(action="person.update", target_id=str(person.pk)).get()
    assert entry.details["changes"]["phone"] == ["138****1111", "139****9999"]
    assert "13900009999" not in str(entry.details)


def test_bad_rows_reject_the_whole_file_with_row_numbers(town: Town) -> None:
    before = snapshot()
    rows = [
        GOOD[0],
        ["", "110105194912310097", "13800002222", "5", "1", "102", ""],  # row 3: no name
        ["钱七", "110105194912310096", "13800002222", "5", "1", "103", ""],  # row 4: check digit
        ["孙八", "110101199003078515", "1380000", "5", "1", "104", "外星人"],  # row 5: 2 problems
        ["周九", "110101198001010010", "13800003333", "5", "1", "", ""],  # row 6: no door
    ]
    report = import_roster(town.east_worker, town.east_compound, "bad.xlsx", xlsx(rows))
    assert not report.ok
    by_row: dict[int, set[str]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, set()).add(error.column)
    assert by_row == {
        3: {"姓名"},
        4: {"身份证号"},
        5: {"身份证号", "手机号"},
        6: {"门牌号"},
    }
    # An unknown tag is a warning on its row, not a reason to refuse the file.
    assert [(w.row, w.column) for w in report.warnings] == [(5, "标签")]
    reasons = " ".join(e.reason for e in report.errors)
    assert "row 2" in reasons  # row 5 repeats row 2's ID number
    assert snapshot() == before
    assert not AuditLog.objects.filter(action="roster.import").exists()


def test_rows_are_numbered_as_in_the_spreadsheet_below_a_title_row(town: Town) -> None:
    rows = [GOOD[0], ["", "", "", "5", "1", "102", ""]]
    report = import_roster(
        town.east_worker, town.east_compound, "t.xlsx", xlsx(rows, title="东风花园居民花名册")
    )
    assert [(e.row, e.column) for e in report.errors] == [(4, "姓名")]


def test_id_numbers_excel_turned_into_numbers_are_refused(town: Town) -> None:
    rows = [["王小明", 110101199003078515, "13800001111", "5", "1", "101", ""]]
    report = import_roster(town.east_worker, town.east_compound, "n.xlsx", xlsx(rows))
    assert [e.column for e in report.errors] == ["身份证号"]
    assert "text" in report.errors[0].reason or "文本" in report.errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_the_encodings_excel_and_wps_write(town: Town, encoding: str) -> None:
    report = import_roster(town.east_worker, town.east_compound, "r.csv", csv_bytes(GOOD, encoding))
    assert report.ok, report.errors
    assert Person.objects.filter(name="王大明").exists()


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("r.xls", b"\xd0\xcf\x11\xe0", ".xlsx"),
        ("r.pdf", b"%PDF", ".xlsx"),
        ("r.xlsx", b"not a zip", ".xlsx"),
        ("r.csv", "名字,电话\n张三,138\n".encode(), "楼栋"),
        ("r.csv", b"a,b,c\n1,2,3\n", "header"),
        ("r.csv", ",".join(HEADER).encode() + b"\n", "no residents"),
    ],
)
def test_unreadable_files_get_one_clear_reason(
    town: Town, name: str, data: bytes, words: str
) -> None:
    before = snapshot()
    report = import_roster(town.east_worker, town.east_compound, name, data)
    assert len(report.errors) == 1
    assert report.errors[0].row == 0
    assert words.lower() in report.errors[0].reason.lower()
    assert snapshot() == before


def test_system_tags_are_not_imported_but_warned_about(town: Town) -> None:
    rows = [["王小明", "110101199003078515", "13800001111", "5", "1", "101", "居家隔离中、老人"]]
    report = import_roster(town.east_worker, town.east_compound, "q.xlsx", xlsx(rows))
    assert report.ok, report.errors
    assert [(w.row, w.column) for w in report.warnings] == [(2, "标签")]
    assert "quarantine case" in report.warnings[0].reason
    person = Person.objects.get(name="王小明")
    assert [t.code for t in person.tags.all()] == ["elderly"]


def test_person_registered_in_another_community_is_not_moved(town: Town) -> None:
    rows = [["李四", "440305199003071236", "13987654321", "5", "1", "101", ""]]
    report = import_roster(town.east_worker, town.east_compound, "m.xlsx", xlsx(rows))
    assert [e.column for e in report.errors] == ["身份证号"]
    town.west_person.refresh_from_db()
    assert town.west_person.household == town.west_home


def test_worker_cannot_import_into_another_community(town: Town) -> None:
    with pytest.raises(Http404):
        import_roster(town.east_worker, town.west_compound, "a.xlsx", xlsx(GOOD))


def test_import_target_must_be_a_compound_or_village(town: Town) -> None:
    with pytest.raises(ValidationError):
        import_roster(town.east_worker, town.east_unit, "a.xlsx", xlsx(GOOD))


def test_import_page_refuses_a_bad_file_naming_its_rows(town: Town) -> None:
    client = login(town.east_worker)
    bad = [["", "", "", "5", "1", "101", ""]]
    upload = io.BytesIO(xlsx(bad))
    upload.name = "bad.xlsx"
    response = client.post(
        "/people/import/", {"area": town.east_compound.pk, "file": upload}, follow=True
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "姓名" in page
    assert "row 2" in page or "第 2 行" in page
    assert not Person.objects.filter(household__door="101", name="").exists()


def test_import_page_previews_then_imports(town: Town) -> None:
    client = login(town.east_worker)
    upload = io.BytesIO(xlsx(GOOD))
    upload.name = "good.xlsx"
    response = client.post(
        "/people/import/", {"area": town.east_compound.pk, "file": upload}, follow=True
    )
    assert response.status_code == 200
    assert not Person.objects.filter(name="王大明").exists()  # a preview writes nothing
    page = response.content.decode()
    assert 'data-testid="import-preview"' in page
    assert "王*明" in page  # masked in the preview
    assert "110105194912310097" not in page
    confirm = response.redirect_chain[-1][0] + "confirm/"
    response = client.post(confirm, follow=True)
    assert response.status_code == 200
    assert 'data-testid="import-result"' in response.content.decode()
    assert Person.objects.filter(name="王大明").exists()


def test_import_page_offers_only_own_compounds(town: Town) -> None:
    page = login(town.east_worker).get("/people/import/").content.decode()
    assert "东风花园" in page
    assert "向阳小区" not in page
    upload = io.BytesIO(xlsx(GOOD))
    upload.name = "good.xlsx"
    response = login(town.east_worker).post(
        "/people/import/", {"area": town.west_compound.pk, "file": upload}
    )
    assert response.status_code == 200  # the form refuses the choice
    assert not Person.objects.filter(name="王大明").exists()


def test_import_writes_one_audit_entry_per_person_and_one_for_the_file(town: Town) -> None:
    import_roster(town.east_worker, town.east_compound, "a.xlsx", xlsx(GOOD))
    entries = AuditLog.objects.filter(actor=town.east_worker)
    assert entries.filter(action="person.create").count() == 3
    summary = entries.get(action="roster.import")
    assert summary.details["created"] == 3
    assert len(summary.details["sha256"]) == 64
