"""From a sheet as people lay it out to records keyed by column: the shape, not the meaning.

A list kept by a residents' committee (or an enterprise's staff list) is made for printing:
a title or two merged across the top, headers on two lines or spaced to fit (`姓 名`,
`身份证\\n号码`, `人员类别\\n（标签）`), any column order and the committee's own words for each
column, a building merged down the rows of its residents, blank lines between blocks, page
headers repeated, and a footer (`合计`, `共36人`, `制表人：`). This module finds the header,
fills merged ranges, carries block values down, and drops what is not a record. A `TableSpec`
says which columns exist and what they may be called; turning the raw values into validated
data is the caller's job (see `roster`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from shouwang.core.sheets import Sheet, SheetError
from shouwang.core.text import squash


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # as the template and every report name it (Chinese)
    aliases: tuple[str, ...]  # the words committees use, most specific first
    required: bool = False
    # A blank cell takes the value above it within a block (a building written once for all
    # its residents). Carry columns are listed outermost first: a new building clears the unit.
    carry_down: bool = False


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[Column, ...]
    header_search_rows: int = 20
    max_records: int = 50_000

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass(slots=True)  # one per row: 50,000 of them in a large roster
class Record:
    row: int  # the spreadsheet's own row number (1-based)
    values: dict[str, Any]
    letters: dict[str, str]  # column key → column letter, for reports


@dataclass
class Table:
    header_rows: tuple[int, int]  # first and last row of the header
    headers: dict[str, str]  # column key → the header as written in the file
    letters: dict[str, str]
    records: list[Record] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # footer and repeated-header rows


_BRACKETS = re.compile(r"[(\[【{（](.*?)[)\]】}）]")
_DECORATION = re.compile(r"[*＊:：#№.。、]")
_FOOTER_START = re.compile(
    r"^(合计|总计|小计|共计|统计|制表|填表|填报|审核|审批|签字|签名|盖章|负责人|经办人|"
    r"核对人|备注|说明|注[:：]|注意|日期|打印)"
)
_FOOTER_COUNT = re.compile(r"共\d+(人|户|名|栋|幢)")


def header_key(text: str) -> str:
    """A header cell as compared: no spaces or line breaks, half-width, lower-case."""
    return _DECORATION.sub("", squash(text)).lower()


def _header_candidates(text: str) -> list[str]:
    whole = header_key(text)
    if not whole:
        return []
    # "人员类别（标签）" is matched as itself, then as "人员类别", then as "标签".
    found = [whole, _BRACKETS.sub("", whole)]
    found.extend(m.group(1) for m in _BRACKETS.finditer(whole))
    return [c for c in found if c]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value).strip()


class _Matcher:
    def __init__(self, spec: TableSpec) -> None:
        self.ranks: dict[str, tuple[str, int]] = {}
        for column in spec.columns:
            for rank, alias in enumerate((column.label, *column.aliases)):
                self.ranks.setdefault(header_key(alias), (column.key, rank))

    def match(self, texts: Iterable[str]) -> tuple[str, int] | None:
        for text in texts:
            for candidate in _header_candidates(text):
                if candidate in self.ranks:
                    return self.ranks[candidate]
        return None

    def columns(self, rows: list[list[Any]]) -> dict[str, int]:
        """Column key → position for a header of one or two rows (merged cells filled)."""
        best: dict[str, tuple[int, int]] = {}  # key → (rank, position)
        width = max((len(r) for r in rows), default=0)
        for position in range(width):
            cells = [cell_text(r[position]) if position < len(r) else "" for r in rows]
            # The lower line is the more specific one ("住址" above "楼栋"); both joined last.
            texts = [*reversed(cells), "".join(cells)] if len(cells) > 1 else cells
            found = self.match(texts)
            if found is None:
                continue
            key, rank = found
            if key not in best or rank < best[key][0]:
                best[key] = (rank, position)
        return {key: position for key, (_rank, position) in best.items()}


def _fill_merges(sheet: Sheet) -> None:
    # Every cell of a merged range shows the top-left cell's value; the others are empty in
    # the file. Bounded: valid ranges do not overlap, and hostile ones cannot add more cells
    # than the sheet has twice over.
    budget = 2 * sum(max(len(r), 1) for r in sheet.rows) + 10_000
    for min_row, min_col, max_row, max_col in sheet.merges:
        top = sheet.rows[min_row - 1]
        value = top[min_col - 1] if min_col - 1 < len(top) else None
        if value is None or value == "":
            continue
        budget -= (max_row - min_row + 1) * (max_col - min_col + 1)
        if budget < 0:
            raise SheetError(_("The sheet's merged ranges overlap: it cannot be read."))
        for number in range(min_row, max_row + 1):
            row = sheet.rows[number - 1]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for col in range(min_col - 1, max_col):
                row[col] = value


def _find_header(
    sheet: Sheet, spec: TableSpec, matcher: _Matcher
) -> tuple[int, int, dict[str, int]]:
    best: tuple[tuple[int, int, int, int], int, int, dict[str, int]] | None = None
    required = {c.key for c in spec.columns if c.required}
    for index in range(min(spec.header_search_rows, len(sheet.rows))):
        for span in (1, 2):
            rows = sheet.rows[index : index + span]
            if len(rows) < span:
                continue
            found = matcher.columns(rows)
            if len(found) < 2:
                continue
            # The most columns named; among equals the header that ends first (the header
            # printed again further down on every page must not win, or the records above
            # it would be dropped), and a second row only when it names more ("住址" above
            # "楼栋").
            score = (len(required & found.keys()), len(found), -(index + span), -span)
            if best is None or score > best[0]:
                best = (score, index, span, found)
    if best is None:
        names = "、".join(c.label for c in spec.columns)
        raise SheetError(
            _("No header row found: the first rows must name the columns (%(names)s).")
            % {"names": names}
        )
    _score, index, span, found = best
    missing = [c.label for c in spec.columns if c.required and c.key not in found]
    if missing:
        raise SheetError(_("The header has no column %(names)s.") % {"names": "、".join(missing)})
    return index, span, found


def _is_footer(texts: list[str]) -> bool:
    for text in texts:
        compact = squash(text)
        if compact and (_FOOTER_START.match(compact) or _FOOTER_COUNT.search(compact)):
            return True
    return False


def read_table(sheet: Sheet, spec: TableSpec) -> Table:
    _fill_merges(sheet)
    matcher = _Matcher(spec)
    index, span, positions = _find_header(sheet, spec, matcher)
    header = sheet.rows[index : index + span]
    table = Table(
        header_rows=(index + 1, index + span),
        headers={
            key: " ".join(
                cell_text(r[p]) for r in header if p < len(r) and cell_text(r[p])
            ).replace("\n", "")
            for key, p in positions.items()
        },
        letters={key: get_column_letter(p + 1) for key, p in positions.items()},
    )
    carry = [c.key for c in spec.columns if c.carry_down and c.key in positions]
    own = [c.key for c in spec.columns if not c.carry_down and c.key in positions]
    first_key = min(positions, key=lambda k: positions[k])
    block: dict[str, Any] = {}
    for number in range(index + span + 1, len(sheet.rows) + 1):
        raw = sheet.rows[number - 1]
        sheet.rows[number - 1] = []  # the record keeps what it needs; let the rest go now
        values = {key: (raw[p] if p < len(raw) else None) for key, p in positions.items()}
        texts = {key: cell_text(v) for key, v in values.items()}
        if not any(texts[k] for k in own):
            # Blank, or only a building merged down past the last resident, or only a
            # pre-numbered 序号: not a record, and the end of a block.
            if not any(cell_text(v) for v in raw):
                block = {}
            continue
        leading = next((cell_text(v) for v in raw if cell_text(v)), "")
        if _is_footer([leading, texts[first_key]]):
            table.skipped.append(number)
            block = {}
            continue
        if matcher.columns([raw]).keys() == positions.keys() and len(positions) > 2:
            table.skipped.append(number)  # the header again, printed on every page
            continue
        for depth, key in enumerate(carry):
            if texts[key]:
                if block.get(key) != values[key]:
                    for inner in carry[depth + 1 :]:
                        block.pop(inner, None)
                block[key] = values[key]
            elif key in block:
                values[key] = block[key]
        if len(table.records) >= spec.max_records:
            raise SheetError(_("At most %(n)d rows per file.") % {"n": spec.max_records})
        table.records.append(Record(number, values, table.letters))
    return table
