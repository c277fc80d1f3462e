"""A worker imports the roster their committee really keeps, on a phone and on a desktop.

The files come from tests/core/roster_corpus.py: a title merged across, headers on two lines,
序号 first, buildings merged down, blank rows, a 合计/制表人 footer, full-width digits and a
lower-case x. The page must show the preview, import on confirmation, and refuse a bad file
naming each bad row, all without the page scrolling sideways.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.models import Person
from shouwang.core.services.people import find_by_id_number
from tests.browser.conftest import logged_in, zh
from tests.conftest import PASSWORD, Town
from tests.core.roster_corpus import CORPUS, EAST

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}


def corpus_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(next(c.data for c in CORPUS if c.name == name))
    return path


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px window"


def upload(page: Page, path: Path) -> None:
    page.goto("/people/import/")
    assert_no_sideways_scroll(page)
    page.get_by_label(zh("Compound")).select_option(label="东风花园")
    page.get_by_label(zh("Roster file (.xlsx or .csv)")).set_input_files(path)
    page.get_by_role("button", name=zh("Check the file"), exact=True).click()


def number(value: int) -> re.Pattern[str]:
    return re.compile(rf"^\D*{value}\D*$")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_a_messy_roster_is_previewed_then_imported(
    page: Page, live_server: LiveServer, town: Town, tmp_path: Path, viewport: str
) -> None:
    page.set_viewport_size(VIEWPORTS[viewport])  # type: ignore[arg-type]
    logged_in(page, live_server, town.east_worker, PASSWORD)
    before = Person.objects.count()
    upload(page, corpus_file(tmp_path, "messy.xlsx"))

    report = page.get_by_test_id("import-report")
    expect(report.get_by_role("heading", level=2)).to_have_text(
        zh("Preview: nothing has been imported yet")
    )
    # New, changed, unchanged, households (and areas), warnings.
    expect(page.get_by_test_id("import-preview").get_by_role("listitem")).to_have_text(
        [number(len(EAST)), number(0), number(0), re.compile(r"\d"), number(0)]
    )
    items = page.get_by_test_id("import-items").locator("tbody tr")
    expect(items).to_have_count(len(EAST))
    expect(items.first).to_contain_text("王*明")  # masked, never the full name
    expect(report).not_to_contain_text(EAST[0].id_number)
    # The layout was understood: header row 3 under two title rows, footer rows skipped.
    expect(report).to_contain_text("身份证号码")
    assert_no_sideways_scroll(page)
    assert Person.objects.count() == before  # a preview writes nothing

    page.get_by_role("button", name=zh("Import these residents")).click()
    expect(report.get_by_role("heading", level=2)).to_have_text(zh("Imported"))
    expect(page.get_by_test_id("import-result").get_by_role("listitem").first).to_have_text(
        number(len(EAST))
    )
    assert_no_sideways_scroll(page)
    assert Person.objects.count() == before + len(EAST)
    # Full-width digits, the lower-case x, "+86 …" and "101室" were read as what they mean.
    wang = find_by_id_number(None, EAST[1].id_number)
    assert wang is not None
    assert (wang.name, wang.phone, wang.household.door) == ("王大明", "13800002222", "101")
    assert wang.household.area.name == "1单元"
    # 钱七's building was merged down from the row above; he has no unit.
    qian = Person.objects.get(name="钱七")
    assert qian.household.area.name == "6号楼"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_a_bad_roster_is_refused_with_its_rows_named(
    page: Page, live_server: LiveServer, town: Town, tmp_path: Path, viewport: str
) -> None:
    page.set_viewport_size(VIEWPORTS[viewport])  # type: ignore[arg-type]
    logged_in(page, live_server, town.east_worker, PASSWORD)
    before = Person.objects.count()
    bad = next(c for c in CORPUS if c.name == "bad_rows.xlsx")
    upload(page, corpus_file(tmp_path, bad.name))

    report = page.get_by_test_id("import-report")
    expect(report.get_by_role("heading", level=2)).to_have_text(
        zh("The file was refused; nothing was imported.")
    )
    rows = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(rows).to_have_count(len(bad.bad_rows))
    for index, (row, columns) in enumerate(sorted(bad.bad_rows.items())):
        cells = rows.nth(index).get_by_role("cell")
        expect(cells.nth(0)).to_have_text(re.compile(rf"\b{row}\b"))
        expect(cells.nth(1)).to_contain_text(next(iter(columns)))
    expect(rows.nth(0)).to_contain_text(zh("ID number check digit is wrong: typed in incorrectly?"))
    expect(page.get_by_role("button", name=zh("Import these residents"))).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert Person.objects.count() == before
