"""Rosters as committees keep them: the corpus imports the right people, noise changes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from shouwang.core.models import Person, Tag
from shouwang.core.services.roster import (
    RosterRow,
    TagVocabulary,
    check_file,
    import_roster,
    parse,
    read_file,
)
from tests.conftest import Town
from tests.core.roster_corpus import (
    CORPUS,
    EAST,
    HEADERS,
    KEYS,
    TAG_WORDS,
    Noise,
    Resident,
    make_id,
    render,
)

# The tags a fresh database has (migration 0002), without needing the database.
VOCABULARY = TagVocabulary(
    Tag(pk=pk, code=code, name=name, name_en=en, system=system)
    for pk, (code, name, en, system) in enumerate(
        [
            ("living_alone", "独居老人", "Elderly, living alone", False),
            ("elderly", "老年人", "Elderly", False),
            ("disabled", "残疾人", "Disabled", False),
            ("chronic_illness", "慢性病", "Chronic illness", False),
            ("pregnant", "孕产妇", "Pregnant or postpartum", False),
            ("tenant", "租户", "Tenant", False),
            ("under_quarantine", "居家隔离中", "Under home quarantine", True),
        ],
        start=1,
    )
)


def people(rows: list[RosterRow]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            (
                r.person.name,
                r.person.id_number,
                r.person.phone,
                r.building,
                r.unit,
                r.door,
                tuple(sorted(t.code for t in r.person.tags)),
            )
            for r in rows
        ),
        key=repr,
    )


def parsed(name: str, data: bytes) -> tuple[list[tuple[Any, ...]], dict[int, set[str]]]:
    rows, errors, _warnings = parse(read_file(name, data), VOCABULARY)
    bad: dict[int, set[str]] = {}
    for error in errors:
        bad.setdefault(error.row, set()).add(error.column)
    return people(rows), bad


@pytest.mark.parametrize("item", CORPUS, ids=[c.name for c in CORPUS])
def test_each_corpus_file_reads_as_the_people_in_it(item: Any) -> None:
    found, bad = parsed(item.name, item.data)
    assert bad == item.bad_rows
    if not item.bad_rows:
        assert found == sorted((p.expected() for p in item.people), key=repr)


def test_the_messy_file_reports_its_layout() -> None:
    messy = next(c for c in CORPUS if c.name == "messy.xlsx")
    table = read_file(messy.name, messy.data)
    assert table.header_rows == (3, 3)
    assert table.headers["id_number"] == "身份证号码"  # "身份证\n号码" in the file
    assert table.headers["tags"] == "人员类别（标签）"
    assert table.letters["name"] == "B"  # 序号 comes first
    # The footer ("合计：共8人" merged across, then the signatures) is not read as people.
    assert len(table.skipped) == 2


def test_excel_numbers_are_refused_with_the_reason() -> None:
    item = next(c for c in CORPUS if c.name == "excel_numbers.xlsx")
    rows, errors, _warnings = parse(read_file(item.name, item.data), VOCABULARY)
    assert [(e.row, e.letter) for e in errors] == [(2, "B"), (3, "B")]
    assert "4.40606197904118E+17" in errors[0].reason
    assert "4.40606197904118E+17" in errors[1].reason
    assert [r.person.name for r in rows] == ["孙八"]


def test_old_15_digit_ids_convert_with_a_warning_and_impossible_ones_are_refused() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "楼栋", "门牌号"])
    sheet.append(["王大明", "110105491231002", "5", "101"])
    sheet.append(["李芳", 110105491231010, "5", "102"])  # typed as a number: 15 digits survive
    sheet.append(["钱七", "110105490230002", "5", "103"])  # 1949-02-30
    out = io.BytesIO()
    book.save(out)
    rows, errors, warnings = parse(read_file("old.xlsx", out.getvalue()), VOCABULARY)
    assert [r.person.id_number for r in rows] == ["11010519491231002X", "11010519491231010X"]
    assert [(w.row, w.column) for w in warnings] == [(2, "身份证号"), (3, "身份证号")]
    assert [(e.row, e.column) for e in errors] == [(4, "身份证号")]
    assert "19490230" in errors[0].reason


def test_unknown_tags_are_warnings_and_synonyms_map() -> None:
    residents = [
        Resident("王芳", "", "", 1, None, 101, ("elderly", "living_alone")),
    ]
    data = render(residents, Noise(tag_words=2))  # 高龄老人，空巢老人
    rows, errors, warnings = parse(read_file("t.xlsx", data), VOCABULARY)
    assert not errors
    assert not warnings
    assert sorted(t.code for t in rows[0].person.tags) == ["elderly", "living_alone"]


def test_the_messy_roster_imports_into_the_database(town: Town) -> None:
    messy = next(c for c in CORPUS if c.name == "messy.xlsx")
    report = import_roster(town.east_worker, town.east_compound, messy.name, messy.data)
    assert report.ok, report.errors
    assert report.created_people == len(EAST)
    assert Person.objects.filter(household__area__path__startswith=town.east_compound.path).filter(
        name__in=[p.name for p in EAST]
    ).count() == len(EAST)
    # The same people written cleanly are the same people: nothing changes.
    clean = next(c for c in CORPUS if c.name == "clean.xlsx")
    again = import_roster(town.east_worker, town.east_compound, clean.name, clean.data)
    assert (again.created_people, again.updated_people, again.unchanged_people) == (
        0,
        0,
        len(EAST),
    )


def test_a_bad_file_is_refused_whole_naming_every_row(town: Town) -> None:
    bad = next(c for c in CORPUS if c.name == "bad_rows.xlsx")
    before = Person.objects.count()
    report, planned = check_file(town.east_worker, town.east_compound, bad.name, bad.data)
    assert not report.ok
    assert planned == []
    assert {e.row for e in report.errors} == set(bad.bad_rows)
    assert all(e.letter for e in report.errors)
    assert import_roster(town.east_worker, town.east_compound, bad.name, bad.data).errors
    assert Person.objects.count() == before


# --- property: formatting noise never changes the people imported ----------------------

NAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
REGIONS = [110101, 110105, 310104, 440305, 320102, 420106, 650102, 510107]


@st.composite
def residents(draw: st.DrawFn) -> list[Resident]:
    count = draw(st.integers(1, 14))
    out: list[Resident] = []
    used_ids: set[str] = set()
    used_names: set[tuple[int, int | None, int, str]] = set()
    buildings = draw(st.lists(st.integers(1, 30), min_size=1, max_size=4, unique=True))
    with_units = {b: draw(st.booleans()) for b in buildings}
    for _ in range(count):
        building = draw(st.sampled_from(buildings))
        unit = draw(st.integers(1, 4)) if with_units[building] else None
        door = draw(st.integers(1, 33)) * 100 + draw(st.integers(1, 4))
        name = "".join(draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=3)))
        born = f"{draw(st.integers(1930, 2020))}{draw(st.integers(1, 12)):02d}"
        born += f"{draw(st.integers(1, 28)):02d}"
        id_number = make_id(draw(st.sampled_from(REGIONS)), born, draw(st.integers(0, 999)))
        if draw(st.integers(0, 4)) == 0:
            id_number = ""  # one in five has no ID number
        if id_number in used_ids or (building, unit, door, name) in used_names:
            continue
        if id_number:
            used_ids.add(id_number)
        else:
            used_names.add((building, unit, door, name))
        phone = ""
        if draw(st.booleans()):
            phone = f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 999_999_999)):09d}"
        tags = tuple(
            sorted(draw(st.lists(st.sampled_from(sorted(TAG_WORDS)), max_size=2, unique=True)))
        )
        out.append(Resident(name, id_number, phone, building, unit, door, tags))
    return out


noises = st.builds(
    Noise,
    title_rows=st.integers(0, 2),
    header_words=st.tuples(*(st.integers(0, len(HEADERS[k]) - 1) for k in KEYS)),
    order=st.permutations(range(len(KEYS))).map(tuple),
    extra_columns=st.booleans(),
    two_row_header=st.booleans(),
    full_width=st.booleans(),
    lower_x=st.booleans(),
    phone_style=st.integers(0, 4),
    building_style=st.integers(0, 5),
    unit_style=st.integers(0, 2),
    door_style=st.integers(0, 2),
    blocks=st.integers(0, 2),
    blank_rows=st.booleans(),
    footer=st.booleans(),
    name_padding=st.booleans(),
    tag_words=st.integers(0, 3),
    repeated_header=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_=residents(), noise=noises)
def test_formatting_noise_never_changes_the_people_imported(
    people_: list[Resident], noise: Noise
) -> None:
    clean, clean_bad = parsed("clean.xlsx", render(people_))
    noisy, noisy_bad = parsed("noisy.xlsx", render(people_, noise))
    assert clean_bad == {}
    assert noisy_bad == {}
    assert clean == sorted((p.expected() for p in people_), key=repr)
    assert noisy == clean


def test_a_header_printed_again_below_does_not_drop_the_records_above_it() -> None:
    # A two-row header (住址 over 楼栋/单元/门牌), five households, then the header again as
    # one row, as a committee's print layout repeats it on the next page, then five more.
    # Both headers name the same columns: the first must be taken, every resident read.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["东风社区居民花名册"])
    sheet.append(["姓名", "身份证号码", "联系电话", "住址", None, None])
    sheet.append([None, None, None, "楼栋", "单元", "门牌"])
    sheet.merge_cells("D2:F2")  # 姓名 and the others not merged down: blank cells below them
    residents = [
        Resident(f"居民{i}", make_id(110101, "19800101", 100 + i), f"1380000{i:04d}", 1, 1, 101 + i)
        for i in range(10)
    ]

    def row(r: Resident) -> list[Any]:
        return [r.name, r.id_number, r.phone, f"{r.building}号楼", f"{r.unit}单元", r.door]

    for resident in residents[:5]:
        sheet.append(row(resident))
    sheet.append(["姓名", "身份证号码", "联系电话", "楼栋", "单元", "门牌"])
    for resident in residents[5:]:
        sheet.append(row(resident))
    data = io.BytesIO()
    book.save(data)
    found, bad = parsed("roster.xlsx", data.getvalue())
    assert bad == {}
    assert found == sorted((r.expected() for r in residents), key=repr)
