"""The staff's screens in Chromium, on a 390 px phone and a 1440 px desktop: the guard's home is
the gate; a pass prints as an A6 card; and no page a person uses is wider than the screen (each
role walks its pages as tests/pages/walk.py finds them, then fills the forms that lead to the
import's preview and result, the bulk issue's result, a new link and a visitor's pass), while
the town's alert board fills a desktop."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from shouwang.core.demo import DEMO_PASSWORD, fake_id_number
from shouwang.core.models import AreaKind, Person, User
from shouwang.core.services.people import PersonData, create_person
from shouwang.passes.models import Pass
from shouwang.passes.services import issue
from tests.browser.conftest import logged_in, zh
from tests.conftest import PASSWORD, Town
from tests.pages.walk import ROLES, resident_urls, seed_walk_town, walk

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SCREENS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.mark.parametrize("viewport", SCREENS, ids=list(SCREENS))
def test_the_guards_home_is_the_gate(
    town: Town, page: Page, live_server: LiveServer, viewport: str
) -> None:
    page.set_viewport_size(SCREENS[viewport])  # type: ignore[arg-type]
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill(town.gate_guard.get_username())
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/gate/$"))
    expect(page.get_by_test_id("scan-input")).to_be_visible()
    expect(page.get_by_test_id("compound")).to_contain_text("东风花园")


@pytest.mark.parametrize("viewport", SCREENS, ids=list(SCREENS))
def test_a_pass_prints_as_one_a6_card(
    town: Town, page: Page, live_server: LiveServer, viewport: str
) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    page.set_viewport_size(SCREENS[viewport])  # type: ignore[arg-type]
    logged_in(page, live_server, town.east_worker, PASSWORD)
    page.goto(f"{live_server.url}/passes/{issued.pk}/")
    page.get_by_test_id("print-pass").click()
    card = page.get_by_test_id("pass-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("card-name")).to_have_text("张*明")
    expect(card.get_by_test_id("card-address")).to_contain_text("东风花园")
    assert too_wide(page) <= 0
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    if viewport == "desktop":
        # On paper the card is A6: 105 mm wide (96 px per inch). (Print media emulated in a
        # phone's window keeps the window's 390 px, narrower than the card: the PDF below.)
        width = card.evaluate("e => e.getBoundingClientRect().width")
        assert abs(width - 105 / 25.4 * 96) < 2
    pdf = page.pdf(prefer_css_page_size=True)
    # Each PDF page is an A6 sheet, 105 × 148 mm = 297.6 × 419.5 pt (Chromium rounds to pixels),
    # not the Letter page it printed while the stylesheet said `size: A6`.
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes
    for width_pt, height_pt in boxes:
        assert abs(float(width_pt) - 105 / 25.4 * 72) < 1.5
        assert abs(float(height_pt) - 148 / 25.4 * 72) < 1.5
    assert Pass.objects.get().status == "active"


def too_wide(page: Page) -> int:
    """How many pixels the page scrolls sideways in its window (0 or less: it fits)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return width


def test_the_width_check_catches_a_page_wider_than_the_phone(page: Page) -> None:
    """The walk below would pass on any page if the check could not fail: here it must."""
    page.set_viewport_size(PHONE)
    long_link = "http://127.0.0.1:8000/p/" + "A1b2C3d4" * 8 + "/"
    page.set_content(f'<body style="margin:0"><p><a class="mono">{long_link}</a></p></body>')
    assert too_wide(page) > 100  # an unbreakable link, as the visitor pass page had (508 px)
    page.set_content('<body style="margin:0"><div style="width:500px">宽</div></body>')
    assert too_wide(page) == 500 - PHONE["width"]
    page.set_content('<body style="margin:0"><p style="overflow-wrap:anywhere">' + long_link)
    assert too_wide(page) <= 0


def _log_in(page: Page, live_server: LiveServer, role: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill(role)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def _roster(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    header = ["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"]
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def _forms(page: Page, live_server: LiveServer, role: str, tmp_path: Path) -> Iterator[str]:
    """The pages only a form leads to, reached as a person reaches them; yields each one's name
    once the browser shows it."""
    base = live_server.url
    user = User.objects.get(username=role)
    if role == "worker1":
        # A roster: the preview (with a warning), the import, and a refused file.
        rng = random.Random(11)
        good = [
            [
                "欧阳长名字",
                fake_id_number(rng, date(1950, 1, 1)),
                "+86 138-0000-1111",
                "9",
                "1",
                "101",
                "老人、志愿者",
            ],
            ["司马新来", fake_id_number(rng, date(1990, 5, 5)), "13800002222", "9", "1", "102", ""],
        ]
        for name, rows in (
            ("good.csv", good),
            ("bad.csv", [["坏行", "110", "1", "9", "", "", ""]]),
        ):
            page.goto(f"{base}/people/import/")
            page.get_by_label(zh("Compound")).select_option(label="东风花园")
            page.get_by_label(zh("Roster file (.xlsx or .csv)")).set_input_files(
                _roster(tmp_path, name, rows)
            )
            page.get_by_role("button", name=zh("Check the file"), exact=True).click()
            report = page.get_by_test_id("import-report")
            if name == "good.csv":
                expect(page.get_by_test_id("import-warnings")).to_be_visible()
                yield "import preview"
                page.get_by_test_id("roster-confirm").click()
                expect(page.get_by_test_id("import-result")).to_be_visible()
                yield "import result"
            else:
                expect(page.get_by_test_id("import-errors")).to_be_visible()
                expect(report).to_be_visible()
                yield "import refused"
        # The bulk issue's result: the newcomers without a pass.
        person = Person.objects.visible_to(user).select_related("household").first()
        assert person is not None
        create_person(None, person.household, PersonData.clean("新住户", "", ""))
        page.goto(f"{base}/passes/bulk/")
        compound = person.household.area
        while compound.kind != AreaKind.COMPOUND:
            compound = compound.get_parent()
        page.locator("select[name=compound]").select_option(str(compound.pk))
        page.get_by_role("button", name=zh("Issue passes")).click()
        expect(page.get_by_test_id("issued").first).to_be_visible()
        yield "bulk result"
        # A new personal link for a pass.
        issued = Pass.objects.visible_to(user).filter(person__isnull=False).first()
        assert issued is not None
        page.goto(f"{base}/passes/{issued.pk}/")
        page.locator(f"form[action='/passes/{issued.pk}/new-link/'] button").click()
        expect(page.get_by_test_id("personal-link")).to_be_visible()
        yield "new link"
    if role == "guard":
        page.goto(f"{base}/gate/visitors/")
        page.locator("input[name=name]").fill("快递员")
        page.locator("input[name=phone]").fill("13900002222")
        page.locator("select[name=household]").select_option(index=1)
        page.locator("input[name=reason]").fill("送快递")
        page.locator("form.card button.primary").click()
        expect(page.get_by_test_id("qr")).to_be_visible()
        yield "visitor pass"


@pytest.mark.parametrize("viewport", SCREENS, ids=list(SCREENS))
def test_no_page_is_wider_than_the_screen(
    page: Page, live_server: LiveServer, settings: Any, tmp_path: Path, viewport: str
) -> None:
    """Every role's pages as the walk finds them, and the pages behind its forms (import
    preview, result and refusal, bulk-issue result, new link, visitor pass)."""
    settings.VAR_DIR = tmp_path
    seed_walk_town()
    urls: dict[str, list[str]] = {}
    for role in ROLES:
        seen_kinds: set[str] = set()
        urls[role] = []
        for seen in walk(role):
            if (
                seen.status != 200
                or not seen.html
                or not seen.url.startswith("/")
                or seen.url.startswith("/admin/")
            ):
                continue
            kind = re.sub(r"\d+", "N", seen.url.split("?")[0])
            if kind not in seen_kinds:
                seen_kinds.add(kind)
                urls[role].append(seen.url)
    residents = resident_urls()
    screen = SCREENS[viewport]
    page.set_viewport_size(screen)  # type: ignore[arg-type]
    wide: list[str] = []
    for url in residents:
        page.goto(f"{live_server.url}{url}")
        if too_wide(page) > 0:
            wide.append(f"resident {url}: {too_wide(page)} px too wide")
    behind_forms: list[str] = []
    for role, found in urls.items():
        _log_in(page, live_server, role)
        for url in found:
            if url == "/alerts/board/" and viewport == "phone":
                continue  # the board is for a desktop screen: below
            page.goto(f"{live_server.url}{url}")
            extra = too_wide(page)
            if extra > 0:
                wide.append(f"{role} {url}: {extra} px too wide")
        for name in _forms(page, live_server, role, tmp_path):
            behind_forms.append(name)
            extra = too_wide(page)
            if extra > 0:
                wide.append(f"{role} {name} ({page.url}): {extra} px too wide")
    assert sum(len(u) for u in urls.values()) > 60
    assert behind_forms == [
        "import preview",
        "import result",
        "import refused",
        "bulk result",
        "new link",
        "visitor pass",
    ]
    assert wide == []

    if viewport == "desktop":
        # The town's alert board uses the width of a desktop screen.
        _log_in(page, live_server, "town")
        page.goto(f"{live_server.url}/alerts/board/")
        used = page.locator("main").evaluate("e => e.getBoundingClientRect().width")
        assert used > 1300
        assert too_wide(page) <= 0
