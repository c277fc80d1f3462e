"""Messy rosters, generated with openpyxl in the shapes residents' committees really keep them.

`render(residents, noise)` lays the same people out with any mix of the habits seen in real
花名册: title rows merged across, headers on two lines or with spaces inside, synonyms and any
column order, buildings merged down (or written once and left blank below), blank rows
between buildings, footers, full-width digits, a lower-case x, phones written five ways.
`CORPUS` holds fixed files built from it, each with the people it must import; the property
test in test_roster_corpus.py draws `Noise` at random.

`python -m tests.core.roster_corpus DIR` writes the corpus out, to open in Excel or WPS.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment

from shouwang.core.identity import id_check_char

FULL = str.maketrans("0123456789Xx-", "０１２３４５６７８９Ｘｘ－")


def make_id(region: int, born: str, seq: int) -> str:
    first17 = f"{region}{born}{seq:03d}"
    return first17 + id_check_char(first17)


@dataclass(frozen=True)
class Resident:
    name: str
    id_number: str  # canonical, "" if none
    phone: str  # 11-digit mobile, "" if none
    building: int
    unit: int | None
    door: int
    tags: tuple[str, ...] = ()  # tag codes

    def expected(self) -> tuple[str, str | None, str | None, str, str, str, tuple[str, ...]]:
        return (
            self.name,
            self.id_number or None,
            self.phone or None,
            f"{self.building}号楼",
            f"{self.unit}单元" if self.unit else "",
            str(self.door),
            tuple(sorted(self.tags)),
        )


# Header words per column: the first is the template's, the rest what committees write.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "姓 名", "居民姓名", "姓　名"),
    "id_number": ("身份证号", "身份证\n号码", "证件号码", "公民身份号码", "身份证号码"),
    "phone": ("手机号", "联系电话", "电话", "手机\n号码", "联系方式"),
    "building": ("楼栋", "楼号", "幢", "楼 栋"),
    "unit": ("单元", "单元号", "单 元"),
    "door": ("门牌号", "门牌", "房号", "室"),
    "tags": ("标签", "人员类别\n（标签）", "人员类别", "类别"),
}
KEYS = tuple(HEADERS)
TAG_WORDS: dict[str, tuple[str, ...]] = {
    "elderly": ("老年人", "老人", "高龄老人"),
    "living_alone": ("独居老人", "独居", "空巢老人"),
    "disabled": ("残疾人", "残疾"),
    "chronic_illness": ("慢性病", "慢病"),
    "pregnant": ("孕产妇", "孕妇"),
    "tenant": ("租户", "租客"),
}


@dataclass(frozen=True)
class Noise:
    title_rows: int = 0  # 0–2 rows above the header, merged across the table
    header_words: tuple[int, ...] = (0,) * 7  # which word of HEADERS each column uses
    order: tuple[int, ...] = tuple(range(7))  # a permutation of KEYS
    extra_columns: bool = False  # 序号, 性别 and 备注, which are not read
    two_row_header: bool = False  # "基本信息" / "住址" above the column names, merged
    full_width: bool = False  # ID numbers, phones and doors in full-width digits
    lower_x: bool = False
    phone_style: int = 0  # 0 plain, 1 "+86 138 1234 5678", 2 "138-1234-5678", 3 dots, 4 number
    building_style: int = 0  # 0 "3", 1 "3号楼", 2 "3栋", 3 "3#", 4 "３幢", 5 number
    unit_style: int = 0  # 0 "1", 1 "1单元", 2 number
    door_style: int = 0  # 0 "501", 1 "501室", 2 number
    blocks: int = 0  # 0 every cell filled, 1 building/unit merged down, 2 written once, blank below
    blank_rows: bool = False  # a blank row between buildings
    footer: bool = False
    name_padding: bool = False  # "王　芳" for two-character names
    tag_words: int = 0  # which word of TAG_WORDS, and "、" or "，" between them
    repeated_header: bool = False  # the header printed again mid-sheet (page break)


def _digits(text: str, noise: Noise) -> str:
    return text.translate(FULL) if noise.full_width else text


def _phone(phone: str, noise: Noise) -> Any:
    if not phone:
        return None
    style = noise.phone_style
    if style == 4:
        return int(phone)
    text = {
        0: phone,
        1: f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
        2: f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
        3: f"{phone[:3]}.{phone[3:7]}.{phone[7:]}",
    }[style]
    return _digits(text, noise)


def _building(number: int, noise: Noise) -> Any:
    style = noise.building_style
    if style == 5:
        return number
    text = {0: "{}", 1: "{}号楼", 2: "{}栋", 3: "{}#", 4: "{}幢"}[style].format(number)
    return _digits(text, noise) if style == 4 or noise.full_width else text


def _unit(number: int | None, noise: Noise) -> Any:
    if number is None:
        return None
    return {0: str(number), 1: f"{number}单元", 2: number}[noise.unit_style]


def _door(number: int, noise: Noise) -> Any:
    if noise.door_style == 2:
        return number
    text = f"{number}室" if noise.door_style == 1 else str(number)
    return _digits(text, noise)


def _id(id_number: str, noise: Noise) -> Any:
    if not id_number:
        return None
    text = id_number.lower() if noise.lower_x else id_number
    return _digits(text, noise)


def _name(name: str, noise: Noise) -> str:
    return f"{name[0]}\u3000{name[1]}" if noise.name_padding and len(name) == 2 else name


def _tags(codes: tuple[str, ...], noise: Noise) -> str | None:
    if not codes:
        return None
    words = [TAG_WORDS[c][noise.tag_words % len(TAG_WORDS[c])] for c in codes]
    return ("，" if noise.tag_words % 2 else "、").join(words)


def render(residents: list[Resident], noise: Noise | None = None, title: str = "") -> bytes:
    noise = noise or Noise()
    people = sorted(residents, key=lambda r: (r.building, r.unit or 0, r.door))
    keys = [KEYS[i] for i in noise.order]
    heads = [HEADERS[k][noise.header_words[KEYS.index(k)] % len(HEADERS[k])] for k in keys]
    if noise.extra_columns:
        keys = ["序号", keys[0], "性别", *keys[1:], "备注"]
        heads = ["序号", heads[0], "性别", *heads[1:], "备注"]
    width = len(keys)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "花名册"
    row = 1
    titles = [title or "东风花园居民花名册", "填报单位：东风社区居委会    填报日期：2026年11月30日"]
    for text in titles[: noise.title_rows]:
        sheet.cell(row, 1, text)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        row += 1
    if noise.two_row_header:
        groups = {"name": "基本信息", "id_number": "基本信息", "phone": "基本信息"}
        for column, key in enumerate(keys, start=1):
            group = groups.get(key, "住址" if key in ("building", "unit", "door") else None)
            sheet.cell(row, column, group)
        # Merge runs of the same group word, as committees do.
        start = 1
        for column in range(2, width + 2):
            same = column <= width and (
                sheet.cell(row, column).value == sheet.cell(row, start).value
            )
            if not same:
                if sheet.cell(row, start).value and column - 1 > start:
                    sheet.merge_cells(
                        start_row=row, start_column=start, end_row=row, end_column=column - 1
                    )
                start = column
        row += 1
    header_row = row
    for column, text in enumerate(heads, start=1):
        cell = sheet.cell(row, column, text)
        cell.alignment = Alignment(wrap_text=True)
    row += 1
    runs: dict[str, tuple[int, Any]] = {}  # key → (first row of the run, value)

    def close_run(key: str, last: int) -> None:
        if key in runs and noise.blocks == 1:
            first, _value = runs[key]
            if last > first:
                column = keys.index(key) + 1
                sheet.merge_cells(
                    start_row=first, start_column=column, end_row=last, end_column=column
                )
        runs.pop(key, None)

    previous: Resident | None = None
    for number, person in enumerate(people, start=1):
        new_building = previous is None or previous.building != person.building
        new_unit = new_building or (previous is not None and previous.unit != person.unit)
        if previous is not None and new_building:
            close_run("building", row - 1)
            close_run("unit", row - 1)
            if noise.blank_rows:
                row += 1
        elif previous is not None and new_unit:
            close_run("unit", row - 1)
        if noise.repeated_header and number == len(people) // 2 + 1 and not noise.blocks:
            for column, text in enumerate(heads, start=1):
                sheet.cell(row, column, text)
            row += 1
        values: dict[str, Any] = {
            "序号": number,
            "性别": "男" if number % 2 else "女",
            "备注": "常住" if number % 3 else None,
            "name": _name(person.name, noise),
            "id_number": _id(person.id_number, noise),
            "phone": _phone(person.phone, noise),
            "building": _building(person.building, noise),
            "unit": _unit(person.unit, noise),
            "door": _door(person.door, noise),
            "tags": _tags(person.tags, noise),
        }
        if noise.blocks:
            if not new_building:
                values["building"] = None
            else:
                runs["building"] = (row, values["building"])
            if person.unit is not None:
                if not new_unit:
                    values["unit"] = None
                else:
                    runs["unit"] = (row, values["unit"])
        for column, key in enumerate(keys, start=1):
            if values[key] is not None:
                sheet.cell(row, column, values[key])
        row += 1
        previous = person
    close_run("building", row - 1)
    close_run("unit", row - 1)
    if noise.footer:
        sheet.cell(row, 1, f"合计：共{len(people)}人")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        sheet.cell(row + 2, 1, "制表人：张晓红")
        sheet.cell(row + 2, 3, "审核人：")
        sheet.cell(row + 2, max(4, width - 1), "2026年11月30日")
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the fixed corpus ------------------------------------------------------------------

EAST = [
    Resident("王小明", make_id(110101, "19900307", 851), "13800001111", 5, 1, 101, ("elderly",)),
    Resident(
        "王大明",
        "11010519491231010X",  # an X to write in lower case
        "13800002222",
        5,
        1,
        101,
        ("living_alone", "disabled"),
    ),
    Resident("李芳", make_id(440305, "19851120", 12), "13912345678", 5, 1, 102),
    Resident("赵六", "", "", 5, 2, 201),
    Resident("欧阳明月", make_id(310104, "20010615", 302), "15800003333", 5, 2, 202, ("tenant",)),
    Resident("钱七", make_id(650102, "19400101", 55), "", 6, None, 301, ("chronic_illness",)),
    Resident("孙八", make_id(320102, "19771010", 998), "18612340000", 6, None, 302),
    Resident("周九", make_id(420106, "19640229", 71), "13700137000", 7, 3, 1201),
]


@dataclass(frozen=True)
class CorpusFile:
    name: str
    data: bytes
    people: list[Resident] = field(default_factory=list)  # what must be imported
    bad_rows: dict[int, set[str]] = field(default_factory=dict)  # row → columns refused


MESSY = Noise(
    title_rows=2,
    header_words=(1, 1, 1, 1, 0, 1, 1),
    extra_columns=True,
    full_width=True,
    lower_x=True,
    phone_style=1,
    building_style=1,
    door_style=1,
    blocks=1,
    blank_rows=True,
    footer=True,
    name_padding=True,
    tag_words=1,
)


def _excel_numbers() -> bytes:
    """IDs typed as numbers: Excel kept 15 significant digits, the file holds a float."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号"])
    sheet.append(["王小明", 440606197904118000.0, 13800001111, 5, 1, 101])
    sheet.append(["李芳", "4.40606197904118E+17", "13912345678", 5, 1, 102])
    sheet.append(["孙八", make_id(320102, "19771010", 998), "18612340000", 6, None, 302])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bad_rows() -> bytes:
    """Title, two-line header and footer as in MESSY, with one problem per bad row."""
    rows = [
        EAST[0],  # row 4, good
        replace(
            EAST[2],
            id_number=EAST[2].id_number[:17] + ("1" if EAST[2].id_number[17] == "0" else "0"),
        ),
        replace(EAST[3], id_number=make_id(110101, "20991231", 1)),  # born in the future
        replace(EAST[4], id_number=make_id(990101, "19800101", 1)),  # no province 99
        replace(EAST[5], phone="1380000"),
        replace(EAST[6], name=""),
    ]
    return render(rows, replace(MESSY, blocks=0, blank_rows=False))


CORPUS = [
    CorpusFile("clean.xlsx", render(EAST), EAST),
    CorpusFile("messy.xlsx", render(EAST, MESSY), EAST),
    CorpusFile(
        "two_row_header.xlsx",
        render(
            EAST,
            Noise(
                title_rows=1,
                two_row_header=True,
                order=(5, 3, 4, 0, 2, 1, 6),
                header_words=(2, 2, 2, 2, 1, 2, 3),
                blocks=2,
                building_style=2,
                unit_style=1,
                phone_style=2,
                footer=True,
            ),
        ),
        EAST,
    ),
    CorpusFile(
        "numbers.xlsx",
        render(
            EAST,
            Noise(
                building_style=5,
                unit_style=2,
                door_style=2,
                phone_style=4,
                repeated_header=True,
                header_words=(3, 4, 3, 3, 2, 3, 0),
            ),
        ),
        EAST,
    ),
    CorpusFile("excel_numbers.xlsx", _excel_numbers(), [], {2: {"身份证号"}, 3: {"身份证号"}}),
    CorpusFile(
        "bad_rows.xlsx",
        _bad_rows(),
        [],
        {5: {"身份证号"}, 6: {"身份证号"}, 7: {"身份证号"}, 8: {"手机号"}, 9: {"姓名"}},
    ),
]


def main(target: str) -> None:
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    for item in CORPUS:
        (folder / item.name).write_bytes(item.data)
    print(f"{len(CORPUS)} files in {folder}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/roster-corpus")
