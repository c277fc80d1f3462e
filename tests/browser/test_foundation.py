"""What a community worker sees and does in a real browser: log in, browse, reveal, import.

Texts are compared through `zh()`, the app's own translation for a zh-CN browser, so they
follow the catalogue; `test_a_chinese_browser_gets_the_chinese_ui` checks that it translates.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.models import AuditLog, Person
from shouwang.core.services.people import PersonData, create_person, find_by_id_number
from tests.browser.conftest import log_in, logged_in, zh
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

EAST_NAME, EAST_ID, EAST_PHONE = "张三明", "11010519491231002X", "13812345678"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(first17: str) -> str:
    """A GB 11643 ID number: the 17 digits and their check character."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def numbers(*values: int) -> re.Pattern[str]:
    """A text whose numbers are exactly `values`, in order, whatever the words around them.

    Counts are checked this way, not word for word: their wording is still being settled.
    """
    return re.compile(r"^\D*" + r"\D+".join(str(v) for v in values) + r"\D*$")


def counts(households: int, residents: int) -> re.Pattern[str]:
    return numbers(households, residents)


def url(live_server: LiveServer, path: str) -> re.Pattern[str]:
    """The page's address, exactly: `path` may carry a query string."""
    return re.compile(rf"^{re.escape(live_server.url + path)}$")


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def assert_no_full_values(page: Page, *values: str) -> None:
    html = page.content()
    for value in values:
        assert value not in html, f"{value!r} is in the page's HTML"


def test_worker_logs_in_and_browses_down_to_a_household(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    log_in(page, live_server, "east", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text(zh("Wrong username or password."))
    expect(page).to_have_url(url(live_server, "/login/"))
    expect(page.get_by_test_id("logout")).to_have_count(0)

    log_in(page, live_server, "east", PASSWORD)
    expect(page).to_have_url(url(live_server, "/"))
    cards = page.locator("a.area-card")
    expect(cards).to_have_count(1)
    expect(cards.get_by_role("strong")).to_have_text("东风社区")
    expect(cards.locator(".counts")).to_have_text(counts(1, 1))
    expect(page.get_by_text("向阳社区")).to_have_count(0)

    cards.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("东风社区")
    expect(page.locator("p.counts")).to_have_text(counts(1, 1))
    for name in ("东风花园", "3号楼", "2单元"):
        page.locator("a.area-card", has_text=name).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.get_by_role("link", name="501", exact=True).click()

    expect(page).to_have_url(url(live_server, f"/households/{town.east_home.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("东风社区 东风花园 3号楼 2单元501")
    resident = page.get_by_test_id("resident")
    expect(resident).to_have_text("张*明")
    expect(page.get_by_text("138****5678", exact=True)).to_be_visible()
    assert_no_full_values(page, EAST_NAME, EAST_ID, EAST_PHONE)


def test_worker_reveals_the_phone_number_and_it_is_audited(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    person = town.east_person
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.goto(f"/households/{town.east_home.pk}/")
    page.get_by_test_id("resident").click()
    expect(page).to_have_url(url(live_server, f"/people/{person.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("张*明")
    phone = page.get_by_test_id("phone")
    expect(phone).to_contain_text("138****5678")
    assert_no_full_values(page, EAST_NAME, EAST_ID, EAST_PHONE)
    reveals = AuditLog.objects.filter(action="person.reveal", target_id=str(person.pk))
    assert not reveals.exists()

    page.get_by_test_id("reveal-phone").click()

    call = phone.get_by_role("link", name=EAST_PHONE, exact=True)
    expect(call).to_have_attribute("href", f"tel:{EAST_PHONE}")
    expect(
        page.get_by_text(zh("Showing a full value is recorded in the audit log."))
    ).to_be_visible()
    # Only the phone number was asked for: the ID number stays masked.
    expect(page.get_by_test_id("id-number")).to_contain_text("110105********002X")
    assert EAST_ID not in page.content()
    entry = reveals.get()
    assert entry.actor == town.east_worker
    assert entry.details["field"] == "phone"
    assert entry.source == "web"
    assert entry.area == town.east_unit


def test_worker_imports_a_roster_and_a_bad_file_is_rejected_whole(
    page: Page, live_server: LiveServer, town: Town, tmp_path: Path
) -> None:
    wang, zhao, sun = (
        id_number("11010519800115123"),
        id_number("11010519751102456"),
        id_number("11010520010309789"),
    )
    good = write_roster(
        tmp_path / "东风花园名单.xlsx",
        [
            ["王小红", wang, "13700001111", "3", "2", "502", "独居老人"],
            ["赵大力", zhao, "13700002222", "5号楼", "1单元", "101", ""],
        ],
    )
    wrong_check = zhao[:17] + ("0" if zhao[17] != "0" else "1")
    bad = write_roster(
        tmp_path / "有错的名单.xlsx",
        [
            ["孙小美", sun, "13700003333", "3", "2", "503", ""],
            ["钱多多", wrong_check, "13700004444", "3", "2", "504", ""],
            ["周一", "", "13700005555", "3", "2", "", ""],
        ],
    )
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.get_by_role("link", name=zh("Import a roster")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Import a roster"))

    def upload(path: Path) -> None:
        page.get_by_label(zh("Compound")).select_option(label="东风花园")
        page.get_by_label(zh("Roster file (.xlsx or .csv)")).set_input_files(path)
        page.get_by_role("button", name=zh("Check the file"), exact=True).click()

    upload(good)
    report = page.get_by_test_id("import-report")
    expect(report.get_by_role("heading", level=2)).to_have_text(
        zh("Preview: nothing has been imported yet")
    )
    assert Person.objects.count() == 2
    page.get_by_role("button", name=zh("Import these residents")).click()
    expect(report.get_by_role("heading")).to_have_text(zh("Imported"))
    # New residents, changed, unchanged, new households.
    expect(report.get_by_test_id("import-result").get_by_role("listitem")).to_have_text(
        [numbers(2), numbers(0), numbers(0), numbers(2)]
    )
    assert Person.objects.count() == 4
    imported = find_by_id_number(None, wang)
    assert imported is not None
    assert imported.household.door == "502"
    assert [t.name for t in imported.tags.all()] == ["独居老人"]

    page.goto("/people/import/")
    upload(bad)
    expect(report.get_by_role("heading")).to_have_text(
        zh("The file was refused; nothing was imported.")
    )
    problems = report.locator("tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0).get_by_role("cell")).to_have_text(
        [
            re.compile(r"\b3\b"),
            re.compile(r"\bB\b.*身份证号"),
            zh("ID number check digit is wrong: typed in incorrectly?"),
        ]
    )
    expect(problems.nth(1).get_by_role("cell")).to_have_text(
        [re.compile(r"\b4\b"), re.compile(r"\bF\b.*门牌号"), zh("Door number is required.")]
    )
    # Nothing written, not even the good row 2.
    assert Person.objects.count() == 4
    assert find_by_id_number(None, sun) is None

    page.goto(f"/areas/{town.east_compound.pk}/")
    expect(page.locator("p.counts")).to_have_text(counts(3, 3))


def test_resident_list_is_masked_and_finds_a_full_id_number(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    other_id = id_number("11010519800115123")
    create_person(None, town.east_home, PersonData.clean("王五", other_id, "13700001111"))
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.locator("nav").get_by_role("link", name=zh("Residents"), exact=True).click()

    residents = page.get_by_test_id("resident")
    expect(residents).to_have_text(["张*明", "王*"])
    zhang = page.get_by_role("row").filter(has=page.get_by_text("张*明"))
    expect(zhang.get_by_role("cell")).to_have_text(
        ["张*明", "东风花园 3号楼 2单元501", "110105********002X", "138****5678", ""]
    )
    assert_no_full_values(page, EAST_NAME, EAST_ID, EAST_PHONE, "王五", other_id, "13700001111")

    search = page.get_by_placeholder(zh("Name, full ID or phone number"))

    def search_for(typed: str, shown: str) -> None:
        search.fill(typed)
        # Wait for this search's page, not the previous one's.
        with page.expect_navigation():
            search.press("Enter")
        # The number is posted, never put in the URL, and comes back masked.
        expect(page).to_have_url(re.compile(r"/people/\?s=[\w-]+$"))
        assert typed.lower() not in page.url.lower()
        expect(search).to_have_value(shown)

    for typed, shown in (
        (EAST_ID, "110105********002X"),
        (EAST_ID.lower(), "110105********002X"),
        (EAST_PHONE, "138****5678"),
    ):
        search_for(typed, shown)
        expect(residents).to_have_text(["张*明"])

    # Someone in another community is not found, even by the exact ID number.
    search_for(town.west_person.id_number or "", "440305********1236")
    expect(residents).to_have_count(0)
    expect(page.get_by_text(zh("No residents found."))).to_be_visible()


def test_another_communitys_household_and_person_are_not_found(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    logged_in(page, live_server, town.east_worker, PASSWORD)
    for path in (
        f"/households/{town.west_home.pk}/",
        f"/people/{town.west_person.pk}/",
        f"/areas/{town.west.pk}/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text(zh("Not found"))
        assert_no_full_values(page, "李*", "102", "向阳")

    # Asking for the full phone number directly is refused too, and leaves no trace.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/people/{town.west_person.pk}/",
        form={"field": "phone", "csrfmiddlewaretoken": token},
        headers={"Referer": live_server.url + "/"},
    )
    assert response.status == 404
    assert "13987654321" not in response.text()
    assert not AuditLog.objects.filter(action="person.reveal").exists()


def test_language_switch(page: Page, live_server: LiveServer, town: Town) -> None:
    logged_in(page, live_server, town.east_worker, PASSWORD)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-hans")

    page.get_by_role("button", name="English", exact=True).click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(url(live_server, "/"))
    expect(page.get_by_test_id("logout")).to_have_text("Log out")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, east")
    expect(page.get_by_role("button", name="English")).to_have_count(0)

    page.get_by_role("button", name="中文", exact=True).click()
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(url(live_server, "/"))
    expect(page.get_by_test_id("logout")).to_have_text(zh("Log out"))
    expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()


def test_a_chinese_browser_gets_the_chinese_ui(page: Page, live_server: LiveServer) -> None:
    """Fails when the zh_Hans catalogue is missing (django.mo not compiled) or untranslated."""
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    chinese = re.compile(r"^[^A-Za-z]*[\u4e00-\u9fff][^A-Za-z]*$")
    expect(page.locator("main h1")).to_have_text(chinese)
    expect(page.locator("main label")).to_have_text([chinese, chinese])
    expect(page.locator("main form button")).to_have_text(chinese)
    log_in(page, live_server, "nobody", "wrong")
    expect(page.get_by_role("alert")).to_have_text(chinese)


def test_logout_then_protected_pages_ask_for_login(
    page: Page, live_server: LiveServer, town: Town
) -> None:
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.goto(f"/people/{town.east_person.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("张*明")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(url(live_server, "/login/"))
    expect(page.get_by_test_id("logout")).to_have_count(0)
    expect(page.get_by_role("button", name=zh("Log in"), exact=True)).to_be_visible()

    page.goto("/people/")
    expect(page).to_have_url(url(live_server, "/login/?next=/people/"))
    expect(page.get_by_label(zh("Username"))).to_be_visible()
    assert "张*明" not in page.content()

    # Logging in again from there goes back to the page that was asked for.
    page.get_by_label(zh("Username")).fill("east")
    page.get_by_label(zh("Password")).fill(PASSWORD)
    page.get_by_role("button", name=zh("Log in"), exact=True).click()
    expect(page).to_have_url(url(live_server, "/people/"))
    expect(page.get_by_test_id("resident")).to_have_text(["张*明"])
