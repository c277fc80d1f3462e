"""Members imported from the Excel lists organisations keep (messy as they are), through the
residents' importer layers; encrypted at rest, masked on every page, found by full ID
through the blind index, revealed only with an audit entry."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from shouwang.core.models import AuditLog
from shouwang.reporting.models import Isolation, Member, MemberKind
from shouwang.reporting.services import members
from tests.conftest import Town, login
from tests.reporting.conftest import Orgs
from tests.reporting.sheets import csv_bytes, messy_xlsx, workers


def test_a_messy_excel_list_imports_every_worker(orgs: Orgs) -> None:
    people = workers(75)
    report = members.import_members(orgs.acme_contact, orgs.acme, "花名册.xlsx", messy_xlsx(people))
    assert report.ok, report.errors[:3]
    assert report.created == 75
    stored = {m.id_number: m for m in Member.objects.filter(organisation=orgs.acme)}
    assert set(stored) == {p.id_number for p in people}
    for person in people:
        member = stored[person.id_number]
        assert member.name == person.name  # spaces around the name dropped
        assert member.phone == person.phone  # +86 and hyphens, a number cell: all the same
        assert member.department == person.department  # merged down its block
        assert member.kind == MemberKind.WORKER
    returned = [m for m in stored.values() if m.returned_from]
    assert returned
    assert all(m.isolation == Isolation.HOME for m in returned)
    assert all(str(m.returned_on) == "2026-11-20" for m in returned)
    # The footer (合计, 制表人) and the repeated header are not members.
    assert report.skipped_rows
    # Importing the same list again changes nothing.
    again = members.import_members(orgs.acme_contact, orgs.acme, "花名册.xlsx", messy_xlsx(people))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 75)


def test_ids_and_phones_are_encrypted_at_rest(orgs: Orgs) -> None:
    people = workers(3)
    members.import_members(orgs.acme_contact, orgs.acme, "a.xlsx", messy_xlsx(people))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, id_number_index FROM reporting_member")
        rows = cursor.fetchall()
    raw = " ".join(str(v) for row in rows for v in row)
    for person in people:
        assert person.id_number not in raw
        assert person.phone not in raw
        assert person.id_number[-8:] not in raw


def test_one_bad_row_refuses_the_whole_file_with_row_and_column(orgs: Orgs) -> None:
    good = workers(3)
    bad_id = good[1].id_number[:17] + ("0" if good[1].id_number[17] != "0" else "1")
    rows = [
        ["姓名", "身份证号", "手机号", "部门"],
        [good[0].name, good[0].id_number, good[0].phone, "生产一部"],
        [good[1].name, bad_id, good[1].phone, ""],
        [good[2].name, good[2].id_number, "12345", ""],
        ["重复", good[0].id_number, "", ""],
    ]
    report = members.import_members(orgs.acme_contact, orgs.acme, "bad.csv", csv_bytes(rows))
    assert not report.ok
    where = {(e.row, e.letter) for e in report.errors}
    assert (3, "B") in where  # the check digit
    assert (4, "C") in where  # the phone
    assert (5, "B") in where  # the same ID number as row 2
    assert not Member.objects.exists()


def test_a_file_that_is_not_a_sheet_is_refused_on_the_page(orgs: Orgs) -> None:
    client = login(orgs.acme_contact)
    upload = SimpleUploadedFile("list.xlsx", b"%PDF-1.4 not a workbook")
    answer = client.post(f"/reporting/{orgs.acme.pk}/import/", {"file": upload})
    assert answer.status_code == 422
    assert not Member.objects.exists()


def test_list_is_masked_search_by_full_id_is_posted_and_reveal_is_audited(orgs: Orgs) -> None:
    people = workers(5)
    client = login(orgs.acme_contact)
    upload = SimpleUploadedFile("list.xlsx", messy_xlsx(people))
    answer = client.post(f"/reporting/{orgs.acme.pk}/import/", {"file": upload})
    assert answer.status_code == 200
    assert "已导入：新增 5，更新 0，未变 0。" in answer.content.decode()
    page = client.get(f"/reporting/{orgs.acme.pk}/members/")
    html = page.content.decode()
    assert "no-store" in page["Cache-Control"]
    for person in people:
        assert person.id_number not in html
        assert person.phone not in html
        assert person.phone[:3] + "****" + person.phone[-4:] in html
    target = people[2]
    found = client.post(f"/reporting/{orgs.acme.pk}/members/", {"q": target.id_number})
    html = found.content.decode()
    assert html.count('data-testid="member"') == 1
    assert target.id_number not in html  # the search box shows it masked
    member = Member.objects.get(organisation=orgs.acme, name=target.name)
    shown = client.post(
        f"/reporting/members/{member.pk}/", {"field": "id_number", "reason": "核实"}
    )
    assert target.id_number in shown.content.decode()
    entry = AuditLog.objects.get(action="reporting.member_reveal")
    assert entry.actor == orgs.acme_contact
    assert entry.details == {"field": "id_number", "reason": "核实"}
    assert target.id_number not in str(entry.details)


def test_district_roles_cannot_reveal_or_import(town: Town, orgs: Orgs) -> None:
    members.import_members(None, orgs.acme, "a.xlsx", messy_xlsx(workers(2)))
    member = Member.objects.filter(organisation=orgs.acme).first()
    assert member is not None
    client = login(town.town_operator)
    assert client.post(f"/reporting/members/{member.pk}/", {"field": "phone"}).status_code == 403
    upload = SimpleUploadedFile("list.xlsx", messy_xlsx(workers(2, start=10)))
    assert client.post(f"/reporting/{orgs.acme.pk}/import/", {"file": upload}).status_code == 403
