"""The screens: passes for workers, the resident's page, the gate page, the log, visitors."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from shouwang.core.models import Area, AreaKind, AuditLog, Role
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import PersonData, create_household, create_person
from shouwang.core.services.staff import create_staff
from shouwang.passes.models import Pass, PassStatus, Scan, Visitor
from shouwang.passes.services import issue
from shouwang.passes.services.verify import Gate, check
from tests.conftest import PASSWORD, Town, login


def test_the_pass_list_is_scoped_and_its_queries_are_pinned(
    town: Town, django_assert_max_num_queries: Any
) -> None:
    issue.issue_for_compound(town.east_worker, town.east_compound)
    issue.issue_for_compound(town.west_worker, town.west_compound)
    for n in range(5):
        create_person(None, town.east_home, PersonData.clean(f"王{n}号", "", ""))
    issue.issue_for_compound(town.east_worker, town.east_compound)
    client = login(town.east_worker)
    with django_assert_max_num_queries(8):
        page = client.get("/passes/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="pass"') == 6
    assert "李*" not in html  # the west community's resident
    assert login(town.gate_guard).get("/passes/").status_code == 403


def test_a_worker_finds_a_resident_and_issues_a_pass(town: Town) -> None:
    client = login(town.east_worker)
    found = client.post("/passes/", {"issue_to": "张三"}, follow=True).content.decode()
    assert f"/passes/issue/{town.east_person.pk}/" in found
    form = client.get(f"/passes/issue/{town.east_person.pk}/")
    assert form.status_code == 200
    done = client.post(
        f"/passes/issue/{town.east_person.pk}/",
        {"kind": "resident", "compounds": [town.east_compound.pk]},
    )
    assert done.status_code == 200
    assert 'data-testid="personal-link"' in done.content.decode()
    assert Pass.objects.get().person == town.east_person
    # A tenant without an end date: the form says so and nothing is issued.
    again = client.post(
        f"/passes/issue/{town.east_person.pk}/",
        {"kind": "tenant", "compounds": [town.east_compound.pk]},
    )
    assert again.status_code == 200
    assert Pass.objects.count() == 1
    assert "error" in again.content.decode()
    assert client.get(f"/passes/issue/{town.west_person.pk}/").status_code == 404


def test_bulk_issue_hands_the_links_over_as_excel_and_text_not_a_screen_of_links(
    town: Town, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        create_person(None, town.east_home, PersonData.clean(f"王{n}号", "", ""))
    client = login(town.east_worker)
    # Issuing writes about four rows a pass; the result page adds a constant few, not a
    # query per row (the addresses, the workbook and the table come from one read).
    with django_assert_max_num_queries(31 * 4 + 25):
        page = client.post("/passes/bulk/", {"compound": town.east_compound.pk})
    html = page.content.decode()
    assert html.count('data-testid="issued"') == 31
    assert "/p/" not in "".join(re.findall(r'href="([^"]*)"', html))  # no links to click
    match = re.search(r'download="(links-[0-9-]+\.xlsx)" href="data:[^;]+;base64,([^"]+)"', html)
    assert match is not None
    book = load_workbook(io.BytesIO(base64.b64decode(match.group(2))))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert "east" in str(rows[0][0])  # who exported it, and when
    links = [str(r[3]) for r in rows[2:]]
    assert len(set(links)) == 31
    assert {r[1] for r in rows[2:]} >= {"张*明", "王*号"}
    assert all("东风花园" in str(r[2]) for r in rows[2:])
    text = re.search(r'<textarea id="links-text"[^>]*>([^<]*)</textarea>', html)
    assert text is not None
    assert sorted(line.split("\t")[1] for line in text.group(1).splitlines()) == sorted(links)
    # The links are the residents' own: each opens its holder's pass, without an account.
    first = Client().get(links[0].removeprefix("http://testserver"))
    assert first.status_code == 200
    assert AuditLog.objects.filter(action="pass.links_export").get().details["count"] == 31

    again = client.post("/passes/bulk/", {"compound": town.east_compound.pk}).content.decode()
    assert 'data-testid="issued"' not in again
    assert "data:application" not in again
    assert client.post("/passes/bulk/", {"compound": town.west_compound.pk}).status_code == 200
    assert Pass.objects.count() == 31


def test_a_pass_prints_as_an_a6_card_with_code_masked_name_address_and_end(town: Town) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    client = login(town.east_worker)
    assert f"/passes/{p.pk}/print/" in client.get(f"/passes/{p.pk}/").content.decode()
    html = client.get(f"/passes/{p.pk}/print/").content.decode()
    assert html.count('data-testid="pass-card"') == 1
    assert "张*明" in html
    assert "张三明" not in html
    assert "东风花园 3号楼 2单元501" in html
    assert "<svg" in html
    assert "print.css" in html
    assert AuditLog.objects.filter(action="pass.print").count() == 1
    assert login(town.west_worker).get(f"/passes/{p.pk}/print/").status_code == 404
    assert login(town.gate_guard).get(f"/passes/{p.pk}/print/").status_code == 403
    issue.revoke(town.east_worker, p, "搬离")
    revoked = client.get(f"/passes/{p.pk}/print/").content.decode()
    assert 'data-testid="pass-card"' not in revoked
    assert 'data-testid="not-printable"' in revoked


def test_a_building_prints_in_bulk_only_its_valid_fixed_code_passes(
    town: Town, django_assert_max_num_queries: Any
) -> None:
    building = Area.objects.get(name="3号楼")
    other_building = create_area(None, town.east_compound, "4号楼", AreaKind.BUILDING)
    elsewhere = create_household(None, other_building, "101")
    create_person(None, elsewhere, PersonData.clean("赵六", "", ""))
    for n in range(8):
        create_person(None, town.east_home, PersonData.clean(f"王{n}号", "", ""))
    issue.issue_for_compound(town.east_worker, town.east_compound)
    issue.issue_for_compound(town.west_worker, town.west_compound)
    dynamic = create_person(None, town.east_home, PersonData.clean("钱七", "", ""))
    issue.issue_pass(town.east_worker, dynamic, dynamic=True)
    revoked = Pass.objects.get(person__name="王0号")
    issue.revoke(town.east_worker, revoked, "搬离")
    client = login(town.east_worker)
    choose = client.get("/passes/print/").content.decode()
    assert "东风花园 3号楼" in choose
    assert "向阳小区" not in choose
    with django_assert_max_num_queries(14):
        page = client.get("/passes/print/", {"area": building.pk})
    html = page.content.decode()
    assert html.count('data-testid="pass-card"') == 8  # 张三明 and 王1号…王7号
    assert "赵*" not in html
    assert "钱*" not in html
    refused = client.get("/passes/print/", {"area": town.west_compound.pk}).content.decode()
    assert 'data-testid="pass-card"' not in refused
    whole = client.get("/passes/print/", {"area": town.east_compound.pk}).content.decode()
    assert whole.count('data-testid="pass-card"') == 9
    assert AuditLog.objects.filter(action="pass.print_bulk").count() == 2


def test_revoking_from_the_pass_page(town: Town) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    client = login(town.east_worker)
    client.post(f"/passes/{p.pk}/status/", {"action": "revoke", "reason": ""})
    assert Pass.objects.get().status == PassStatus.ACTIVE
    client.post(f"/passes/{p.pk}/status/", {"action": "revoke", "reason": "搬离"})
    page = client.get(f"/passes/{p.pk}/").content.decode()
    assert Pass.objects.get().status == PassStatus.REVOKED
    assert "搬离" in page
    assert login(town.west_worker).get(f"/passes/{p.pk}/").status_code == 404
    link = client.post(f"/passes/{p.pk}/new-link/")
    assert 'data-testid="personal-link"' in link.content.decode()


def test_the_resident_page_needs_no_account_and_shows_the_code(town: Town) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    page = Client().get(f"/p/{issued.link_token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "张*明" in html
    assert "张三明" not in html
    assert "东风花园" in html
    assert issued.pass_obj.code in html
    assert "<svg" in html
    assert "no-store" in page["Cache-Control"]
    assert Client().get("/p/not-a-token/").status_code == 404
    issue.revoke(town.east_worker, issued.pass_obj, "搬离")
    revoked = Client().get(f"/p/{issued.link_token}/").content.decode()
    assert issued.pass_obj.code not in revoked
    assert 'data-testid="pass-state"' in revoked


def test_the_dynamic_mode_fetches_a_fresh_code(town: Town) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    with time_machine.travel("2026-03-02 01:00:00+00:00", tick=False) as clock:
        page = Client().get(f"/p/{issued.link_token}/?mode=dynamic").content.decode()
        assert "SWD:" in page
        assert "resident.js" in page
        first = Client().get(f"/p/{issued.link_token}/code").json()
        clock.shift(31)
        second = Client().get(f"/p/{issued.link_token}/code").json()
    assert first["code"] != second["code"]
    assert second["svg"].startswith("<svg")
    gate = Gate(town.east_compound)
    assert not check(gate, first["code"]).allowed


def test_the_gate_page_is_for_guards(town: Town) -> None:
    page = login(town.gate_guard).get("/gate/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="gate-config"' in html
    assert "东风花园" in html
    assert "向阳小区" not in html
    assert "gate.js" in html
    assert login(town.east_worker).get("/gate/").status_code == 403


def test_the_access_log_searches_by_person_within_scope(
    town: Town, django_assert_max_num_queries: Any
) -> None:
    east = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    west = issue.issue_pass(town.west_worker, town.west_person).pass_obj
    for n in range(3):
        check(Gate(town.east_compound, "东门"), east.code, direction="out" if n else "in")
    check(Gate(town.west_compound), west.code)
    check(Gate(town.east_compound), "junk")
    client = login(town.east_worker)
    with django_assert_max_num_queries(10):
        page = client.get("/gate/log/", {"compound": town.east_compound.pk}).content.decode()
    assert page.count('data-testid="scan"') == 4
    assert 'data-testid="flow"' in page
    found = client.post("/gate/log/", {"q": "张三"}, follow=True).content.decode()
    assert found.count('data-testid="scan"') == 3
    none = client.post("/gate/log/", {"q": "李四"}, follow=True).content.decode()
    assert none.count('data-testid="scan"') == 0
    denied = client.get("/gate/log/", {"denied": "on"}).content.decode()
    assert denied.count('data-testid="scan"') == 1
    assert Scan.objects.count() == 5


def test_the_guards_access_log_links_only_to_pages_a_guard_may_open(town: Town) -> None:
    east = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    check(Gate(town.east_compound, "东门"), east.code)
    guard = login(town.gate_guard)
    page = guard.get("/gate/log/").content.decode()
    assert page.count('data-testid="scan"') == 1
    assert "张*明" in page
    assert f"/passes/{east.pk}/" not in page
    assert guard.get(f"/passes/{east.pk}/").status_code == 403
    worker_page = login(town.east_worker).get("/gate/log/").content.decode()
    assert f'href="/passes/{east.pk}/"' in worker_page
    # Every link on the guard's pages opens for the guard: no 403 in normal use.
    for url in ("/gate/", "/gate/log/", "/gate/visitors/"):
        html = guard.get(url).content.decode()
        for href in set(re.findall(r'href="(/[^"#?]*)', html)):
            if href.startswith(("/static/", "/i18n/")):
                continue
            assert guard.get(href).status_code in (200, 302), f"{url} links to {href}"


def test_a_guard_without_a_compound_is_told_so_not_refused(town: Town) -> None:
    lone = create_staff(None, "lone-guard", PASSWORD, Role.GATE_GUARD, [])
    page = login(lone).get("/", follow=True)
    assert page.status_code == 200
    assert 'data-testid="no-compound"' in page.content.decode()


def test_the_guard_registers_a_visitor_with_a_pass(town: Town) -> None:
    client = login(town.gate_guard)
    form = client.get("/gate/visitors/").content.decode()
    assert "东风花园 3号楼 2单元501" in form
    assert "向阳小区" not in form
    page = client.post(
        "/gate/visitors/",
        {
            "name": "钱七",
            "phone": "13700001111",
            "household": town.east_home.pk,
            "reason": "送餐",
            "pass_hours": 2,
        },
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html
    assert "钱*" in html
    visitor = Visitor.objects.get()
    assert visitor.pass_issued.household == town.east_home
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM passes_visitor")
        assert "13700001111" not in cursor.fetchone()[0]
    listed = client.get("/gate/visitors/").content.decode()
    assert "137****1111" in listed
    assert "13700001111" not in listed
    bad = client.post(
        "/gate/visitors/",
        {"name": "x", "phone": "12", "household": town.east_home.pk, "reason": "r"},
    )
    assert bad.status_code == 200
    assert Visitor.objects.count() == 1


def test_filtering_by_status_knows_expired_passes(town: Town) -> None:
    from datetime import timedelta

    from django.utils import timezone

    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    Pass.objects.filter(pk=p.pk).update(valid_until=timezone.now() - timedelta(days=1))
    client = login(town.east_worker)
    expired = client.get("/passes/", {"status": "expired"}).content.decode()
    active = client.get("/passes/", {"status": "active"}).content.decode()
    assert expired.count('data-testid="pass"') == 1
    assert active.count('data-testid="pass"') == 0


def test_the_visitor_list_queries_are_pinned(
    town: Town, django_assert_max_num_queries: Any
) -> None:
    from shouwang.passes.services.visitors import register_visitor

    for n in range(6):
        register_visitor(
            town.gate_guard,
            name=f"访客{n}",
            phone="13700001111",
            household=town.east_home,
            reason="探亲",
            pass_hours=2 if n % 2 else 0,
        )
    client = login(town.gate_guard)
    with django_assert_max_num_queries(12):
        page = client.get("/gate/visitors/")
    assert page.content.decode().count('data-testid="visitor"') == 6


def test_admin_shows_passes_read_only(town: Town) -> None:
    issue.issue_pass(town.east_worker, town.east_person)
    town.admin.is_staff = True
    town.admin.save()
    client = login(town.admin)
    for model in ("pass", "scan", "signingkey", "gatedevice", "visitor"):
        assert client.get(f"/admin/passes/{model}/").status_code == 200
    assert client.get("/admin/passes/pass/add/").status_code == 403


def test_a_revoked_or_suspended_pass_link_hands_out_no_code(town: Town) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    url = f"/p/{issued.link_token}/code"
    assert Client().get(url).status_code == 200
    issue.suspend(town.east_worker, issued.pass_obj, "出差")
    refused = Client().get(url)
    assert refused.status_code == 410
    assert "code" not in refused.json()
    page = Client().get(f"/p/{issued.link_token}/?mode=dynamic").content.decode()
    assert "SWD:" not in page
    assert "<svg" not in page
    issue.revoke(town.east_worker, issued.pass_obj, "搬离")
    assert Client().get(url).status_code == 410


def test_pass_link_tokens_carry_256_bits(town: Town) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    # token_urlsafe: 43 base64url characters for 32 random bytes.
    assert len(issued.link_token) == 43


# --- searches of personal data are posted, never in the URL (issue 14) ----------------------


def _searched(client: Client, url: str, data: dict[str, Any]) -> tuple[str, str]:
    """Post a search; the URL it lands on and the page there."""
    answer = client.post(url, data)
    assert answer.status_code == 302, answer.content
    location = answer["Location"]
    return location, client.get(location).content.decode()


def test_the_pass_list_searches_are_posted_and_the_url_names_no_one(town: Town) -> None:
    for n in range(60):
        create_person(None, town.east_home, PersonData.clean(f"王{n}号", "", ""))
    issue.issue_for_compound(town.east_worker, town.east_compound)
    client = login(town.east_worker)
    location, page = _searched(
        client, "/passes/", {"q": "王", "compound": town.east_compound.pk, "status": "active"}
    )
    assert "王" not in location
    assert "%E7%8E%8B" not in location
    assert f"compound={town.east_compound.pk}" in location
    assert "status=active" in location
    assert page.count('data-testid="pass"') == 50  # 60 found, a page of 50
    # The pager keeps the search by its id: page two holds the other ten.
    (next_link,) = re.findall(r'href="(\?[^"]*page=2)"', page)
    next_link = next_link.replace("&amp;", "&")
    assert "%E7%8E%8B" not in next_link
    assert client.get("/passes/" + next_link).content.decode().count('data-testid="pass"') == 10
    # The second search form (a resident to issue a pass to) keeps the first one's filters.
    located, found = _searched(client, location, {"issue_to": "张三"})
    assert "张三" not in located
    assert "%E5%BC%A0" not in located
    assert f"compound={town.east_compound.pk}" in located
    assert f"/passes/issue/{town.east_person.pk}/" in found
    assert found.count('data-testid="pass"') == 50
    # The id means nothing in another session.
    other = login(town.east_worker).get(located).content.decode()
    assert f"/passes/issue/{town.east_person.pk}/" not in other


def test_a_pass_search_in_the_url_is_neither_run_nor_echoed(town: Town) -> None:
    issue.issue_for_compound(town.east_worker, town.east_compound)
    client = login(town.east_worker)
    for params in ({"q": "张三明", "status": "active"}, {"issue_to": "张三明", "status": "active"}):
        answer = client.get("/passes/", params)
        assert answer.status_code == 302
        assert answer["Location"] == "/passes/?status=active"
        page = client.get("/passes/", params, follow=True).content.decode()
        assert "张三明" not in page  # the holder shows masked (张*明), the search not at all
        assert 'data-testid="issue-candidates"' not in page
    assert client.get("/passes/?s=forged").status_code == 200


def test_the_access_log_search_is_posted_and_the_url_names_no_one(town: Town) -> None:
    east = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    for n in range(3):
        check(Gate(town.east_compound, "东门"), east.code, direction="out" if n else "in")
    check(Gate(town.east_compound), "junk")
    client = login(town.east_worker)
    location, page = _searched(
        client, "/gate/log/", {"q": "张三明", "compound": town.east_compound.pk, "denied": ""}
    )
    assert "%E5%BC%A0" not in location
    assert f"compound={town.east_compound.pk}" in location
    assert page.count('data-testid="scan"') == 3
    assert 'data-testid="flow"' in page
    # Named in the URL instead: redirected without it, the log unfiltered, the name not shown.
    answer = client.get("/gate/log/", {"q": "张三明", "denied": "on"})
    assert (answer.status_code, answer["Location"]) == (302, "/gate/log/?denied=on")
    page = client.get("/gate/log/", {"q": "张三明"}, follow=True).content.decode()
    assert "张三明" not in page
    assert page.count('data-testid="scan"') == 4
    # A posted filter naming another area's compound is 404, as in the URL.
    west = client.post("/gate/log/", {"q": "", "compound": town.west_compound.pk})
    assert west.status_code == 404
    # The search forms are posted with the CSRF token: a forged cross-site post is refused.
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(town.east_worker)
    assert forged.post("/gate/log/", {"q": "张三明"}).status_code == 403
    assert forged.post("/passes/", {"issue_to": "张三明"}).status_code == 403
