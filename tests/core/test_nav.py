"""The top navigation: each app registers its own link; a person sees the links they may
follow, and the page frame in core names no app above it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from shouwang.core import nav
from tests.conftest import Town, login

BASE = Path(__file__).resolve().parents[2] / "src/shouwang/core/templates/core/base.html"


def _nav(html: str) -> list[tuple[str, str]]:
    block = html[html.index('<nav class="main-nav">') : html.index("</nav>")]
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', block)


def test_a_worker_sees_the_screens_of_their_work(town: Town) -> None:
    page = login(town.east_worker).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    labels = [label for _, label in _nav(page)]
    assert labels == [
        "区域",
        "住户",
        "居民",
        "导入",
        "告警",
        "居家隔离",
        "设备",
        "出入证",
        "整改",  # the patrol's orders to the community, not the rounds
        "单位报送",
        "口罩",
    ]
    assert 'data-testid="nav-passes"' in page
    assert 'data-testid="nav-gate"' not in page


def test_a_guard_gets_the_gate_not_the_pass_list(town: Town) -> None:
    page = login(town.gate_guard).get("/gate/").content.decode()
    links = dict((url, label) for url, label in _nav(page))
    assert "/gate/" in links
    assert 'data-testid="nav-passes"' not in page
    assert not any(url.startswith(("/people/", "/alerts/")) for url in links)


def test_every_link_shown_is_one_the_person_may_open(town: Town) -> None:
    for user in (town.east_worker, town.gate_guard, town.town_operator, town.admin):
        client = login(user)
        home = client.get("/", follow=True).content.decode()
        for url, _label in _nav(home):
            assert client.get(url).status_code == 200, (user, url)


def test_a_link_is_registered_once_and_has_a_choice() -> None:
    names = [link.name for link in nav.registered()]
    assert len(names) == len(set(names))
    assert {"alerts", "quarantine", "devices", "passes", "patrol", "reporting"} <= set(names)
    with pytest.raises(ImproperlyConfigured):
        nav.register_link("alerts", 1, nav.Choice("alerts.view_alert", "alert-console", "x"))
    with pytest.raises(ImproperlyConfigured):
        nav.register_link("nothing-to-choose", 1)


def test_the_page_frame_names_no_app_above_core() -> None:
    # core imports no app; its templates follow the same rule: links come from registrations.
    template = BASE.read_text()
    assert "perms." not in template
    named = set(re.findall(r"{% url '([^']+)'", template))
    assert named <= {"home", "set_language", "logout", "admin:index"}, named
