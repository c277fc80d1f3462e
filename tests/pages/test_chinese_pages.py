"""Walk every page of every role in Chinese (the default) and fail on English left on it.

Visible text is what a person reads: text nodes, and the placeholder, title, aria-label and
button values of controls; not scripts, styles, code blocks, or `.mono` cells (IDs, device
keys, signing key ids are codes). A word counts as English when it is letters only, is not a
code (codes hold digits, dots, slashes or underscores) and is not in the short list of
genuine non-words below (units, brand and protocol names, the demo's own usernames).

The walk also checks what it passes through: no page a person is linked to answers 403 (a link
a role may not follow) or 5xx, and every template in the project is rendered at least once,
except the few named below with the reason they cannot be reached by a walk.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.pages.walk import Seen, seed_walk_town, walk_everyone

# Genuine non-words: units, brand and protocol names, file formats, the demo's usernames.
ALLOWED = {
    # brand and products
    "Shouwang",
    "WeCom",
    "DingTalk",
    "Feishu",
    "WeChat",
    "Excel",
    "Zigbee",
    "LoRaWAN",
    "ChirpStack",
    "CTWing",
    "OneNET",
    "MQTT",
    "NB",
    "IoT",
    "Django",
    # formats, protocols, abbreviations read as letters
    "QR",
    "SMS",
    "ID",
    "CSV",
    "xlsx",
    "csv",
    "API",
    "HTTP",
    "HTTPS",
    "JSON",
    "URL",
    "SSE",
    "CWT",
    "COSE",
    "UTC",
    "NUL",  # the character's name (the edge's refusal of a NUL in a form)
    "GPS",
    "PDF",
    "JPEG",
    "PNG",
    "ONVIF",
    "URI",
    "IP",
    "RSSI",
    "SNR",
    "dBm",
    # units
    "h",
    "min",
    "s",
    "ms",
    "mV",
    "V",
    "km",
    "m",
    "px",
    "mm",
    "A6",
    "A4",
    # the header's switch to English; °C; the time zone; keys on a keyboard; protocols
    "English",
    "C",
    "CST",
    "Control",
    "Command",
    "Mac",
    "LDAP",
    "Webhook",
    # what makes the demo's people and devices: usernames, adapter ids
    "admin",
    "town",
    "guard",
    "property",
    "worker",
    "company",
    "school",
    "reviewer",
    "generic",
    "zigbee2mqtt",
    "chirpstack",
    "ctwing",
    "onenet",
}
# Words that are data or code on particular pages, not interface text, and why.
DATA_ON_PAGES: dict[str, tuple[set[str], str]] = {
    "/admin/alerts/channel/": (
        {"SEC", "SECRET", "house", "kind", "provider", "to", "url", "name", "phone"},
        "placeholders in the channel URL formats and the SMS JSON keys",
    ),
    "/admin/alerts/rulesetting/": (
        {"days", "factor", "minutes", "threshold", "areas", "members"},
        "JSON keys",
    ),
    "/admin/core/auditlog/": (
        {
            "count",
            "hours",
            "pass",
            "system",
            "web",
            "quarantine",
            "true",
            "false",
            "since",
            "until",
        },
        "audit details (JSON)",
    ),
    "/admin/devices/deadletter/": ({"body", "is", "not", "http", "json"}, "stored messages"),
    "/devices/dead-letters/": (
        {"http", "body", "is", "not"},
        "the transport and the adapter's reason, stored with the undecodable message",
    ),
    "/admin/devices/devicekind/": ({"day"}, "battery model JSON"),
    "/admin/passes/scan/": ({"ok", "malformed"}, "verdict codes in the history's JSON"),
    "/admin/axes/accesslog/": (
        {"Access", "Log", "for", "unknown"},
        "django-axes names its rows in English (its __str__), not through gettext",
    ),
    "/admin/": (
        {"Search", "True", "False", "Person-tag", "User-area", "object"},
        "Django admin's own untranslatable text: icon alt texts written into its templates, "
        "and the names of many-to-many link rows on delete pages",
    ),
}
# Templates a walk cannot reach, and why.
UNREACHED = {
    "core/locked_out.html": "shown only after repeated failed logins (tests/core/test_auth.py)",
    "quarantine/resident_expired.html": "an expired or revoked check-in link",
    "quarantine/notice.html": "the printed notice, reached by a case page's button",
    "alerts/call.html": "answers the call button's POST (tests/alerts/test_console.py)",
    "passes/gate_unassigned.html": "a guard bound to no compound (tests/passes/test_views.py)",
    "reporting/link_expired.html": "an expired or replaced declaration link (tests/reporting)",
    "masks/reservation.html": "a resident's own reservation link (tests/masks/test_views.py)",
}
_WORD = re.compile(r"[A-Za-z0-9_./:@%+#-]*[A-Za-z][A-Za-z0-9_./:@%+#'-]*")
_CODE = re.compile(r"[0-9_./:@%+#]")
_CONTROLS = {"placeholder", "title", "aria-label", "alt"}


class VisibleText(HTMLParser):
    # (bdi: the salted hash fragments of Django's password widget)
    HIDDEN = {"head", "script", "style", "code", "pre", "svg", "textarea", "template", "bdi"}
    # Codes and data, not words: IDs, keys, the username, a tag's English name column.
    DATA_CLASSES = {"mono", "who", "field-name_en", "field-code"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        hidden = (
            tag in self.HIDDEN
            or bool(self.DATA_CLASSES.intersection(classes))
            # Django's permission names are rows it wrote in English at migrate time.
            or values.get("name") in {"permissions", "user_permissions"}
        )
        if tag not in {"input", "br", "img", "meta", "link", "hr", "option"}:
            self.stack.append((tag, hidden))
        if self._hidden() or hidden:
            return
        for name in _CONTROLS:
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    words = set()
    for text in parser.parts:
        for word in _WORD.findall(text):
            word = word.strip("'-")
            if not word or _CODE.search(word) or word in ALLOWED:
                continue
            words.add(word)
    return words


_WALKED: list[Seen] = []


@pytest.fixture
def pages(db: Any, settings: Any, tmp_path: Any) -> list[Seen]:
    """The demo town, walked once for the module: the pages are plain data, kept after the
    database is rolled back (seeding the town takes a while)."""
    if not _WALKED:
        settings.VAR_DIR = tmp_path
        seed_walk_town()
        _WALKED.extend(walk_everyone())
    return _WALKED


def test_the_walk_reaches_many_pages_of_every_role(pages: list[Seen]) -> None:
    by_role: dict[str, int] = defaultdict(int)
    for page in pages:
        by_role[page.role] += 1
    assert by_role["worker1"] > 40
    assert by_role["town"] > 40
    assert by_role["admin"] > 60
    assert by_role["guard"] >= 5
    assert by_role["resident"] == 5
    assert by_role["company"] >= 5


def test_no_page_a_person_is_led_to_is_refused_or_broken(pages: list[Seen]) -> None:
    refused = [
        f"{p.role} {p.url} -> {p.status}"
        for p in pages
        if p.linked and p.status >= 400 and not p.url.startswith("POST ")
    ]
    assert refused == []
    broken = [f"{p.role} {p.url} -> {p.status}" for p in pages if p.status >= 500]
    assert broken == []


def test_every_template_is_walked(pages: list[Seen]) -> None:
    root = Path(settings.BASE_DIR)
    ours = {
        str(path.relative_to(folder))
        for folder in root.glob("*/templates")
        for path in folder.rglob("*.html")
    }
    rendered = {name for page in pages for name in page.templates}
    missing = sorted(ours - rendered - UNREACHED.keys())
    assert missing == [], "walk these templates (add a start URL or an action in walk.py)"


def test_no_english_is_left_on_a_chinese_page(pages: list[Seen]) -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for page in pages:
        if page.html:
            for word in english_words(page.html):
                found[word].add(f"{page.role} {page.url}")
    for word in list(found):
        found[word] = {
            url
            for url in found[word]
            if not any(
                url.split(" ", 1)[1].startswith(prefix) and word in words
                for prefix, (words, _why) in DATA_ON_PAGES.items()
            )
        }
    report = {word: sorted(urls)[:3] for word, urls in sorted(found.items()) if urls}
    assert report == {}


def test_chinese_text_uses_full_width_colons(pages: list[Seen]) -> None:
    """ "有效期: 2026" is an English colon in Chinese text: it should read "有效期：2026"."""
    wrong: dict[str, str] = {}
    # The staff's and residents' pages; the admin's help texts are not yet all converted.
    for page in pages:
        if page.url.startswith("/admin/"):
            continue
        parser = VisibleText()
        parser.feed(page.html)
        for text in parser.parts:
            # (not "分:秒", which shows the format of a duration)
            if re.search(r"[\u4e00-\u9fff]\s*:(?!//|秒)", text):
                wrong.setdefault(text.strip()[:60], f"{page.role} {page.url}")
    assert wrong == {}


def test_a_signing_keys_status_is_not_a_quarantine_status(pages: list[Seen]) -> None:
    """The bare msgid "Active" once read 隔离中 (a case's status) on a signing key."""
    keys = [p for p in pages if p.url == "/admin/passes/signingkey/"]
    assert keys
    assert "启用" in keys[0].html
    assert "隔离中" not in keys[0].html
