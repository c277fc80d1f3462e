"""The UI speaks Simplified Chinese by default and English on request; the catalogue is complete.

The catalogue is src/shouwang/locale/zh_Hans/LC_MESSAGES/django.po and its compiled django.mo;
both are committed. After changing user-facing strings, from src/shouwang:

    ../../.venv/bin/shouwang makemessages -l zh_Hans --no-obsolete
    (translate the new entries, drop their "#, fuzzy" flags)
    ../../.venv/bin/shouwang compilemessages -l zh_Hans

(`make messages` runs the two commands.) The checks on the files below are pure Python, so they
also run where GNU gettext is not installed.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

LOGIN_ZH = "登录"
LOGIN_EN = "Log in"


def catalogue_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"


# --- Which language a page is in ------------------------------------------------------------


def login_page(client: Client, accept_language: str | None = None) -> str:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/login/", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def assert_chinese(page: str) -> None:
    assert '<html lang="zh-hans">' in page
    assert LOGIN_ZH in page
    assert LOGIN_EN not in page


def assert_english(page: str) -> None:
    assert '<html lang="en">' in page
    assert LOGIN_EN in page
    assert LOGIN_ZH not in page


def test_default_language_is_simplified_chinese(client: Client) -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert_chinese(login_page(client))


@pytest.mark.parametrize("accept", ["zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans", "zh", "fr-FR,fr"])
def test_chinese_or_unsupported_browser_language_gets_chinese(client: Client, accept: str) -> None:
    assert_chinese(login_page(client, accept))


@pytest.mark.parametrize("accept", ["en", "en-US,en;q=0.9", "en-GB,en;q=0.9,zh-CN;q=0.8"])
def test_english_browser_gets_english(client: Client, accept: str) -> None:
    assert_english(login_page(client, accept))


def test_language_cookie_chooses_english(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert_english(login_page(client))


def test_language_cookie_wins_over_browser_language(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert_chinese(login_page(client, "en-US,en;q=0.9"))


def test_language_switch_sets_the_cookie(client: Client) -> None:
    """The English/中文 button in the header posts to set_language, which sets the cookie."""
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert_english(login_page(client))

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert_chinese(login_page(client))


# --- The .po file, read the way msgfmt reads it ----------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


def _unquote(token: str, where: str) -> str:
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise ValueError(f"{where}: not a quoted string: {token}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, multi-line strings joined; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    flags: set[str] = set()
    part: str | None = None  # the keyword that continuation lines ("…") add to
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line:
            entry, part = None, None
        elif line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if entry is None or part is None:
                raise ValueError(f"{where}: string outside an entry")
            text = _unquote(line, where)
            if part == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + text
            elif part == "msgid":
                entry.msgid += text
            elif part == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + text
            else:
                entry.msgstr[int(part.removeprefix("msgstr"))] += text
        else:
            match = _KEYWORD.match(line)
            if match is None:
                raise ValueError(f"{where}: cannot read {line!r}")
            keyword, index, token = match.groups()
            text = _unquote(token, where)
            if keyword in ("msgctxt", "msgid") and (entry is None or entry.msgstr):
                entry = Entry(line=number, flags=flags)
                entries.append(entry)
                flags = set()
            assert entry is not None
            if keyword == "msgctxt":
                entry.msgctxt, part = text, "msgctxt"
            elif keyword == "msgid":
                entry.msgid, part = text, "msgid"
            elif keyword == "msgid_plural":
                entry.msgid_plural, part = text, "msgid_plural"
            else:
                plural_index = int(index) if index is not None else 0
                entry.msgstr[plural_index] = text
                part = f"msgstr{plural_index}"
    return entries


def _without_pot_date(header: str) -> str:
    # Recent msgfmt leaves POT-Creation-Date out of the .mo (makemessages changes it every run).
    return "".join(
        line
        for line in header.splitlines(keepends=True)
        if not line.startswith("POT-Creation-Date:")
    )


def compile_po(entries: list[Entry]) -> dict[str | tuple[str, int], str]:
    """The catalogue msgfmt would write: no fuzzy or untranslated entries; plurals by index."""
    catalogue: dict[str | tuple[str, int], str] = {}
    for entry in entries:
        if entry.fuzzy and entry.msgid != "":
            continue
        if entry.msgid == "":
            catalogue[""] = _without_pot_date(entry.msgstr[0])
        elif entry.msgid_plural is None:
            if entry.msgstr[0]:
                catalogue[entry.key] = entry.msgstr[0]
        elif all(entry.msgstr.values()):
            for index, text in entry.msgstr.items():
                catalogue[(entry.key, index)] = text
    return catalogue


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    entries = parse_po(catalogue_dir() / "django.po")
    assert len(entries) > 100, "the catalogue looks empty: was makemessages run?"
    return entries


def where(entry: Entry) -> str:
    return f"django.po:{entry.line} {entry.msgid!r}"


def test_mo_is_compiled_from_the_current_po(po_entries: list[Entry]) -> None:
    with (catalogue_dir() / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    expected = compile_po(po_entries)
    actual = dict(compiled._catalog)  # type: ignore[attr-defined]
    actual[""] = _without_pot_date(actual.get("", ""))
    hint = "django.mo is out of date: run `shouwang compilemessages -l zh_Hans` in src/shouwang"
    assert sorted(map(str, set(expected) ^ set(actual))) == [], hint
    changed = sorted(str(k) for k in expected if expected[k] != actual[k])
    assert changed == [], hint


def test_po_header_is_for_simplified_chinese(po_entries: list[Entry]) -> None:
    header = po_entries[0]
    assert header.msgid == ""
    assert not header.fuzzy, "the header is still marked fuzzy"
    fields = dict(line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)
    assert fields["Language"].strip() == "zh_Hans"
    assert fields["Content-Type"].strip() == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"].strip() == "nplurals=1; plural=0;"


def test_every_message_is_translated(po_entries: list[Entry]) -> None:
    messages = po_entries[1:]
    fuzzy = [where(e) for e in messages if e.fuzzy]
    assert fuzzy == [], "check these translations, then remove their '#, fuzzy' flag"
    empty = [where(e) for e in messages if not all(e.msgstr.values())]
    assert empty == [], "these msgids have no translation"
    singular_forms = [where(e) for e in messages if e.msgid_plural and sorted(e.msgstr) != [0]]
    assert singular_forms == [], "Chinese has one plural form: msgstr[0] only"


def test_translations_keep_their_placeholders(po_entries: list[Entry]) -> None:
    """A lost or renamed %(name)s would raise KeyError or show raw text on the page."""
    wrong = []
    for entry in po_entries[1:]:
        if "python-format" not in entry.flags:
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted = {p for s in sources for p in _PLACEHOLDER.findall(s)}
        for text in entry.msgstr.values():
            if set(_PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{where(entry)} -> {text!r}")
    assert wrong == [], "these translations lost or renamed a placeholder"
