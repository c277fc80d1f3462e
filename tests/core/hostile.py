"""Hostile .xlsx files, written part by part (openpyxl would refuse to write most of them).

Used by test_roster_upload.py and bench/roster_import.py. Each builds a minimal valid
workbook around one sheet XML produced by a generator, streamed into the archive so that
building a file of millions of rows does not itself need the memory it attacks.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>楼栋</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>门牌号</t></is></c></row>'
)


def workbook(sheet: Iterable[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            buffer: list[str] = []
            size = 0
            for piece in sheet:
                buffer.append(piece)
                size += len(piece)
                if size > 1 << 20:
                    part.write("".join(buffer).encode())
                    buffer, size = [], 0
            part.write("".join(buffer).encode())
    return out.getvalue()


def _rows(count: int, start: int = 2) -> Iterator[str]:
    for r in range(start, start + count):
        yield f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'


@cache
def declared_huge_range(rows: int = 20_000) -> bytes:
    """About 100 KB declaring A1:XFD1048576 (which made openpyxl pad 20,000 rows to 16,384)."""

    def sheet() -> Iterator[str]:
        yield SHEET_OPEN + '<dimension ref="A1:XFD1048576"/><sheetData>'
        yield from _rows(rows, start=1)
        yield "</sheetData></worksheet>"

    return workbook(sheet())


@cache
def many_rows(rows: int = 3_000_000) -> bytes:
    """A header and then `rows` one-cell rows: millions of rows in a few MB."""

    def sheet() -> Iterator[str]:
        yield SHEET_OPEN + "<sheetData>" + HEADER_ROW
        yield from _rows(rows)
        yield "</sheetData></worksheet>"

    return workbook(sheet())


@cache
def far_right_cell() -> bytes:
    return workbook(
        [
            SHEET_OPEN + "<sheetData>" + HEADER_ROW,
            '<row r="2"><c r="A2"><v>1</v></c><c r="XFD2"><v>1</v></c></row>',
            "</sheetData></worksheet>",
        ]
    )


@cache
def many_merges(count: int) -> bytes:
    def sheet() -> Iterator[str]:
        yield SHEET_OPEN + "<sheetData>" + HEADER_ROW + "</sheetData>"
        yield f'<mergeCells count="{count}">'
        yield from (f'<mergeCell ref="D{i}:E{i}"/>' for i in range(1, count + 1))
        yield "</mergeCells></worksheet>"

    return workbook(sheet())


@cache
def zip_bomb(unpacked_mb: int = 300) -> bytes:
    """A few hundred KB that unpack to `unpacked_mb` MB of XML whitespace."""
    chunk = " " * (1 << 20)

    def sheet() -> Iterator[str]:
        yield SHEET_OPEN
        for _ in range(unpacked_mb):
            yield chunk
        yield "<sheetData>" + HEADER_ROW + "</sheetData></worksheet>"

    return workbook(sheet())


@cache
def lying_sizes() -> bytes:
    """A zip bomb whose directory claims its big part is 1 KB."""
    data = bytearray(zip_bomb(50))
    name = b"xl/worksheets/sheet1.xml"
    # Local file header: uncompressed size at offset 22; central directory entry: at 24.
    for signature, offset, name_field, name_start in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            start = at + 4
            name_length = struct.unpack_from("<H", data, at + name_field)[0]
            if bytes(data[at + name_start : at + name_start + name_length]) == name:
                struct.pack_into("<I", data, at + offset, 1024)
    return bytes(data)
