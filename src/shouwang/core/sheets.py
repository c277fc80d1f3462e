"""Reading an uploaded spreadsheet (.xlsx or .csv) safely: bounded memory, bounded time.

An .xlsx file is a zip archive of XML parts, and a small upload can declare an enormous sheet:
a 100 KB file may claim the range A1:XFD1048576 (openpyxl then pads every row to 16,384
cells), hold millions of rows, or compress a gigabyte of XML into a few kilobytes (a zip
bomb). So, before anything is parsed:

- the archive's directory is checked: the uncompressed size of every part and of all of them
  together is capped (Python's zipfile never returns more than a part's declared size, so the
  declared sizes are a real bound);
- the first sheet is then streamed with openpyxl's read-only worksheet, with the declared
  dimensions ignored (and not probed for: see `_StreamingSheet`), and reading stops at the
  first row or column beyond the limits;
- merged ranges (which read-only mode does not expose) are found by scanning the sheet's XML
  as it is decompressed, a chunk at a time, and their number is capped too.

The caller gets plain rows of cell values and the merged ranges; what the columns mean is
`tabular`'s job.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

MiB = 1024 * 1024
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Limits:
    max_rows: int = 50_100  # a 50,000-person roster and its title, header and footer rows
    max_columns: int = 64
    # Filled cells in all: what the rows cost in memory (a 50,000-resident roster with 20
    # columns filled). Wider and longer at once is refused at the first cell over.
    max_cells: int = 1_000_000
    max_sheet_bytes: int = 160 * MiB  # the first sheet's XML, uncompressed
    max_strings_bytes: int = 16 * MiB  # sharedStrings.xml, held in memory whole by openpyxl
    max_other_part_bytes: int = 8 * MiB  # styles, workbook, relationships…
    max_total_bytes: int = 256 * MiB
    max_parts: int = 2_000
    max_merges: int = 20_000
    progress_every: int = 2_000


class SheetError(ValueError):
    """The file as a whole cannot be read; the message says why, for the person who sent it."""


@dataclass
class Sheet:
    # rows[i] holds the values of spreadsheet row i + 1, trailing empty cells dropped.
    rows: list[list[Any]] = field(default_factory=list)
    # (first row, first column, last row, last column), 1-based and clipped to what was read.
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)


def read_sheet(
    file_name: str, data: bytes, limits: Limits | None = None, progress: Progress | None = None
) -> Sheet:
    limits = limits or Limits()
    lower = file_name.lower()
    if lower.endswith(".csv"):
        return _read_csv(data, limits, progress)
    if lower.endswith(".xlsx"):
        return _read_xlsx(data, limits, progress)
    if lower.endswith(".xls"):
        raise SheetError(
            _("Old .xls files are not supported: save the file as .xlsx or .csv in Excel or WPS.")
        )
    raise SheetError(_("Upload a .xlsx or .csv file."))


def _too_many_rows(limits: Limits) -> SheetError:
    return SheetError(
        _(
            "The sheet goes on beyond row %(n)d, more than a roster may have: delete the rows "
            "below the table (empty-looking rows too) or split the file."
        )
        % {"n": limits.max_rows}
    )


def _too_wide(row: int, columns: int, limits: Limits) -> SheetError:
    return SheetError(
        _(
            "Row %(row)d has cells in column %(col)d; at most %(n)d columns are read: delete "
            "the columns to the right of the table."
        )
        % {"row": row, "col": columns, "n": limits.max_columns}
    )


def _trim(values: Any) -> list[Any]:
    row = list(values)
    while row and (row[-1] is None or row[-1] == ""):
        row.pop()
    return row


def _take_rows(source: Any, sheet: Sheet, limits: Limits, progress: Progress | None) -> None:
    cells = 0
    for values in source:
        number = len(sheet.rows) + 1
        if number > limits.max_rows:
            raise _too_many_rows(limits)
        row = _trim(values)
        if len(row) > limits.max_columns:
            raise _too_wide(number, len(row), limits)
        cells += sum(1 for v in row if v is not None and v != "")
        if cells > limits.max_cells:
            raise SheetError(
                _(
                    "The sheet has more than %(n)d filled cells (reached in row %(row)d): delete "
                    "the columns that are not needed or split the file."
                )
                % {"n": limits.max_cells, "row": number}
            )
        sheet.rows.append(row)
        if progress is not None and number % limits.progress_every == 0:
            progress(number)


# --- CSV -------------------------------------------------------------------------------


def _read_csv(data: bytes, limits: Limits, progress: Progress | None) -> Sheet:
    # Excel in China saves CSV as GB18030 (GBK); everything else sends UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any byte string
        raise SheetError(_("The CSV file is neither UTF-8 nor GBK text."))
    sheet = Sheet()
    try:
        _take_rows(csv.reader(io.StringIO(text)), sheet, limits, progress)
    except csv.Error as exc:
        raise SheetError(_("The CSV file is damaged: %(e)s") % {"e": exc}) from exc
    return sheet


# --- xlsx ------------------------------------------------------------------------------


def _check_archive(archive: zipfile.ZipFile, limits: Limits) -> None:
    parts = archive.infolist()
    if len(parts) > limits.max_parts:
        raise SheetError(_("The .xlsx file has too many parts to be a roster."))
    total = 0
    for part in parts:
        name = part.filename
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            cap = limits.max_sheet_bytes
        elif name == "xl/sharedStrings.xml":
            cap = limits.max_strings_bytes
        elif name.startswith(("xl/media/", "docProps/thumbnail")):
            continue  # pictures are never opened
        else:
            cap = limits.max_other_part_bytes
        if part.file_size > cap:
            raise SheetError(
                _(
                    "The .xlsx file unpacks to more than %(mb)d MB in %(part)s: it is not an "
                    "ordinary roster (or it is a zip bomb) and is not opened."
                )
                % {"mb": cap // MiB, "part": name}
            )
        total += part.file_size
    if total > limits.max_total_bytes:
        raise SheetError(
            _("The .xlsx file unpacks to more than %(mb)d MB and is not opened.")
            % {"mb": limits.max_total_bytes // MiB}
        )


_MERGE = re.compile(
    rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]{1,3}\d{1,7}:[A-Za-z]{1,3}\d{1,7})\""
)
_CHUNK = 1 * MiB
_OVERLAP = 256  # longer than any <mergeCell …/> element we accept


def _merged_ranges(
    archive: zipfile.ZipFile, part: str, sheet: Sheet, limits: Limits
) -> list[tuple[int, int, int, int]]:
    found: set[bytes] = set()
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            for match in _MERGE.finditer(window):
                found.add(match.group(1))
                if len(found) > limits.max_merges:
                    raise SheetError(
                        _("The sheet has more than %(n)d merged ranges.") % {"n": limits.max_merges}
                    )
            tail = window[-_OVERLAP:]
    height = len(sheet.rows)
    merges = []
    for ref in sorted(found):
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode().upper())
        if min_row is None or min_col is None or max_row is None or max_col is None:
            continue
        if min_row > height or min_col > limits.max_columns:
            continue
        merges.append((min_row, min_col, min(max_row, height), min(max_col, limits.max_columns)))
    return merges


class _StreamingSheet(ReadOnlyWorksheet):
    """openpyxl's read-only worksheet without its size probe.

    On opening, a read-only sheet looks for its declared dimensions; when the file has none,
    the probe parses the whole sheet (and keeps every row element) before a single row is
    read: minutes and hundreds of MB for a file of millions of rows. We never trust the
    declared size anyway, so there is nothing to probe.
    """

    def _get_size(self) -> None:
        return None


def _first_worksheet(data: bytes) -> tuple[ExcelReader, Any]:
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)  # number formats: which numbers are dates
    for sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return reader, _StreamingSheet(reader.wb, sheet.name, rel.target, reader.shared_strings)
    raise SheetError(_("The workbook has no worksheet."))


def _read_xlsx(data: bytes, limits: Limits, progress: Progress | None) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SheetError(_("The file is not a readable .xlsx workbook.")) from exc
    with archive:
        _check_archive(archive, limits)
        sheet = Sheet()
        reader = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "no default style" and the like
                reader, worksheet = _first_worksheet(data)
                part = worksheet._worksheet_path
                _take_rows(worksheet.iter_rows(values_only=True), sheet, limits, progress)
        except SheetError:
            raise
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise SheetError(_("The file is not a readable .xlsx workbook.")) from exc
        finally:
            if reader is not None:
                reader.archive.close()
        part = part.lstrip("/")
        if part in archive.namelist():
            sheet.merges = _merged_ranges(archive, part, sheet, limits)
    return sheet
