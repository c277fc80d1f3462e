"""Resident rosters: import from the spreadsheets communities keep, export to Excel.

An import is all or nothing. Every row is read and checked first; if any row is bad the whole
file is rejected with a report naming each bad row, and nothing is written. A good file is
applied in one transaction. Importing the same file again changes nothing: people are matched
by ID number (through the blind index), or by household and name when the roster has no ID.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from shouwang.core import audit, identity, roles
from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person, Tag
from shouwang.core.permissions import require, require_area
from shouwang.core.scoping import user_covers_area
from shouwang.core.services.areas import add_area_node, address_of, ancestor_names
from shouwang.core.services.exports import PersonalExport, clean_reason
from shouwang.core.services.people import PersonData, id_index, phone_index

# Header names seen in real rosters, mapped to our columns. Chinese first; English for the
# English UI's template.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "居民姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "身份证", "id number", "id_number"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "手机", "phone"),
    "building": ("楼栋", "楼号", "楼栋号", "楼", "building"),
    "unit": ("单元", "单元号", "unit"),
    "door": ("门牌号", "房号", "室号", "门牌", "door"),
    "tags": ("标签", "人员类别", "人员标签", "tags"),
}
REQUIRED = ("name", "building", "door")
TEMPLATE_HEADER = ["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"]
MAX_ROWS = 50_000
_HEADER_SEARCH_ROWS = 10  # rosters often start with a title row or two above the header
_TAG_SPLIT = re.compile(r"[,，、;；/\s]+")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (wrong type, no header, too large)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class RosterRow:
    row: int
    person: PersonData
    building: str
    unit: str
    door: str


@dataclass
class ImportReport:
    file_name: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created_people: int = 0
    updated_people: int = 0
    unchanged_people: int = 0
    created_households: int = 0
    created_areas: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


# --- reading ---------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_csv(data: bytes) -> list[list[Any]]:
    # Excel in China saves CSV as GB18030 (GBK); everything else sends UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise RosterFileError(_("The CSV file is neither UTF-8 nor GBK text."))
    return [list(r) for r in csv.reader(io.StringIO(text))]


def _read_xlsx(data: bytes) -> list[list[Any]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise RosterFileError(_("The file is not a readable .xlsx workbook.")) from exc
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_table(file_name: str, data: bytes) -> list[list[Any]]:
    lower = file_name.lower()
    if lower.endswith(".csv"):
        return _read_csv(data)
    if lower.endswith(".xlsx"):
        return _read_xlsx(data)
    if lower.endswith(".xls"):
        raise RosterFileError(
            _("Old .xls files are not supported: save the file as .xlsx or .csv in Excel or WPS.")
        )
    raise RosterFileError(_("Upload a .xlsx or .csv file."))


def _find_header(table: list[list[Any]]) -> tuple[int, dict[str, int]]:
    aliases = {alias.lower(): col for col, names in COLUMNS.items() for alias in names}
    for index, row in enumerate(table[:_HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for position, cell in enumerate(row):
            column = aliases.get(_cell_text(cell).lower())
            if column and column not in found:
                found[column] = position
        if "name" in found:
            missing = [c for c in REQUIRED if c not in found]
            if missing:
                names = "、".join(COLUMNS[c][0] for c in missing)
                raise RosterFileError(_("The header has no column %(names)s.") % {"names": names})
            return index, found
    raise RosterFileError(
        _(
            "No header row found: the first rows must name the columns (姓名, 身份证号, 手机号, "
            "楼栋, 单元, 门牌号, 标签)."
        )
    )


def normalize_building(value: str) -> str:
    match = re.fullmatch(r"(\d+)\s*(号楼|号|栋|幢|座|#)?", value)
    return f"{int(match.group(1))}号楼" if match else value


def normalize_unit(value: str) -> str:
    match = re.fullmatch(r"(\d+)\s*(单元)?", value)
    return f"{int(match.group(1))}单元" if match else value


def normalize_door(value: str) -> str:
    match = re.fullmatch(r"(\d+)\s*(室|号)?", value)
    return match.group(1) if match else value


def _tags_by_name() -> dict[str, Tag]:
    tags: dict[str, Tag] = {}
    for tag in Tag.objects.all():
        for key in (tag.name, tag.code, tag.name_en):
            if key:
                tags[key.lower()] = tag
    return tags


def _valid_id_or_none(value: Any) -> str | None:
    try:
        return identity.normalize_id_number(_cell_text(value))
    except ValidationError:
        return None


def parse(table: list[list[Any]]) -> tuple[list[RosterRow], list[RowError]]:
    """Check every row; numbers in errors are the spreadsheet's own row numbers (1-based)."""
    header_index, columns = _find_header(table)
    tags = _tags_by_name()
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen_ids: dict[str, int] = {}
    seen_doors: dict[tuple[str, str, str, str], int] = {}
    body = table[header_index + 1 :]
    if len(body) > MAX_ROWS:
        raise RosterFileError(_("At most %(n)d rows per file.") % {"n": MAX_ROWS})

    def cell(row: list[Any], column: str) -> Any:
        position = columns.get(column)
        return row[position] if position is not None and position < len(row) else None

    for offset, raw in enumerate(body):
        number = header_index + offset + 2
        if all(_cell_text(c) == "" for c in raw):
            continue
        row_errors: list[RowError] = []
        raw_id = cell(raw, "id_number")
        if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            # Excel turned the ID into a number: the last digits are already gone.
            row_errors.append(
                RowError(
                    number,
                    "身份证号",
                    _(
                        "The ID number was stored as a number by Excel and has lost digits: "
                        "format the column as text and type it again."
                    ),
                )
            )
            raw_id = None
        tag_list: list[Tag] = []
        for tag_name in _TAG_SPLIT.split(_cell_text(cell(raw, "tags"))):
            if not tag_name:
                continue
            tag = tags.get(tag_name.lower())
            if tag is None:
                row_errors.append(
                    RowError(number, "标签", _("Unknown tag “%(t)s”.") % {"t": tag_name})
                )
            elif tag.system:
                row_errors.append(
                    RowError(
                        number,
                        "标签",
                        _("Tag “%(t)s” is set by the system and cannot be imported.")
                        % {"t": tag_name},
                    )
                )
            else:
                tag_list.append(tag)
        try:
            person = PersonData.clean(
                _cell_text(cell(raw, "name")),
                _cell_text(raw_id),
                _cell_text(cell(raw, "phone")),
                [],
            )
        except ValidationError as exc:
            header = dict(
                zip(("name", "id_number", "phone"), ("姓名", "身份证号", "手机号"), strict=True)
            )
            for key, messages in exc.message_dict.items():
                for message in messages:
                    row_errors.append(RowError(number, header.get(key, key), message))
            person = None
        building = normalize_building(_cell_text(cell(raw, "building")))
        unit = normalize_unit(_cell_text(cell(raw, "unit")))
        door = normalize_door(_cell_text(cell(raw, "door")))
        if not building:
            row_errors.append(RowError(number, "楼栋", _("Building is required.")))
        if not door:
            row_errors.append(RowError(number, "门牌号", _("Door number is required.")))
        for label, text in (("楼栋", building), ("单元", unit)):
            if len(text) > 100:
                row_errors.append(RowError(number, label, _("Longer than 100 characters.")))
        if len(door) > 50:
            row_errors.append(RowError(number, "门牌号", _("Longer than 50 characters.")))
        row_id = person.id_number if person is not None else _valid_id_or_none(raw_id)
        if row_id:
            first_id = seen_ids.setdefault(row_id, number)
            if first_id != number:
                row_errors.append(
                    RowError(
                        number, "身份证号", _("Same ID number as row %(r)d.") % {"r": first_id}
                    )
                )
        elif person is not None:
            door_key = (building, unit, door, person.name)
            first = seen_doors.setdefault(door_key, number)
            if first != number:
                row_errors.append(
                    RowError(
                        number,
                        "姓名",
                        _("Same person (no ID number) in the same household as row %(r)d.")
                        % {"r": first},
                    )
                )
        if row_errors or person is None:
            errors.extend(row_errors)
            continue
        rows.append(
            RosterRow(
                number,
                PersonData(person.name, person.id_number, person.phone, tuple(tag_list)),
                building,
                unit,
                door,
            )
        )
    return rows, errors


# --- applying --------------------------------------------------------------------------


class _Places:
    """Buildings, units and households under the target area, created on first use."""

    def __init__(self, actor: Any, root: Area, report: ImportReport) -> None:
        self.actor = actor
        self.root = root
        self.report = report
        self.children: dict[tuple[str, str], Area] = {
            (a.path[: -Area.steplen], a.name): a for a in root.subtree().exclude(pk=root.pk)
        }
        self.households: dict[tuple[int, str], Household] = {
            (h.area_id, h.door): h
            for h in Household.objects.filter(area__path__startswith=root.path)
        }

    def _child(self, parent: Area, name: str, kind: int) -> Area:
        area = self.children.get((parent.path, name))
        if area is None:
            area = add_area_node(parent, name, kind)
            self.children[(parent.path, name)] = area
            self.report.created_areas += 1
            audit.record(
                "area.create",
                actor=self.actor,
                target=area,
                area=area,
                details={"name": name, "kind": kind, "by": "roster import"},
            )
        return area

    def household(self, building: str, unit: str, door: str) -> Household:
        area = self._child(self.root, building, AreaKind.BUILDING)
        if unit:
            area = self._child(area, unit, AreaKind.UNIT)
        household = self.households.get((area.pk, door))
        if household is None:
            household = Household.objects.create(area=area, door=door)
            self.households[(area.pk, door)] = household
            self.report.created_households += 1
            audit.record(
                "household.create",
                actor=self.actor,
                target=household,
                area=area,
                details={"door": door, "by": "roster import"},
            )
        return household


def _existing_people(
    rows: list[RosterRow], root: Area
) -> tuple[dict[str, Person], dict[tuple[int, str], Person]]:
    indexes = [id_index(r.person.id_number) for r in rows if r.person.id_number]
    by_id: dict[str, Person] = {}
    for start in range(0, len(indexes), 500):
        for person in (
            Person.objects.filter(id_number_index__in=indexes[start : start + 500])
            .select_related("household__area")
            .prefetch_related("tags")
        ):
            by_id[str(person.id_number_index)] = person
    without_id = {
        (p.household_id, p.name): p
        for p in Person.objects.filter(
            household__area__path__startswith=root.path, id_number_index__isnull=True
        ).prefetch_related("tags")
    }
    return by_id, without_id


def check_target(actor: Any, area: Area) -> None:
    require(actor, roles.IMPORT)
    require_area(actor, area.path)
    if area.kind not in (AreaKind.COMMUNITY, AreaKind.COMPOUND):
        raise ValidationError(
            _(
                "Import into a compound (or a village without compounds), not into an area "
                "of kind “%(kind)s”."
            )
            % {"kind": AreaKind(area.kind).label}
        )


def import_roster(actor: Any, area: Area, file_name: str, data: bytes) -> ImportReport:
    """Check the whole file, then apply it in one transaction, or write nothing at all."""
    check_target(actor, area)
    report = ImportReport(file_name=file_name)
    try:
        table = read_table(file_name, data)
        rows, errors = parse(table)
    except RosterFileError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report
    report.rows = len(rows) + len({e.row for e in errors})
    report.errors.extend(errors)
    if not rows and not errors:
        report.errors.append(RowError(0, "", _("The file has a header but no residents.")))
    by_id, without_id = _existing_people(rows, area)
    for row in rows:
        if row.person.id_number:
            existing = by_id.get(id_index(row.person.id_number))
            if (
                existing is not None
                and actor is not None
                and not user_covers_area(actor, existing.household.area.path)
            ):
                report.errors.append(
                    RowError(
                        row.row,
                        "身份证号",
                        _(
                            "This person is registered in a household outside your areas: "
                            "ask the town operator to move them."
                        ),
                    )
                )
    report.errors.sort(key=lambda e: (e.row, e.column))
    if report.errors:
        return report
    with transaction.atomic():
        _apply_rows(actor, area, rows, by_id, without_id, report)
        audit.record(
            "roster.import",
            actor=actor,
            area=area,
            details={
                "file": file_name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": report.rows,
                "created": report.created_people,
                "updated": report.updated_people,
                "unchanged": report.unchanged_people,
                "households": report.created_households,
                "areas": report.created_areas,
            },
        )
    return report


def _apply_rows(
    actor: Any,
    root: Area,
    rows: list[RosterRow],
    by_id: dict[str, Person],
    without_id: dict[tuple[int, str], Person],
    report: ImportReport,
) -> None:
    places = _Places(actor, root, report)
    new_people: list[tuple[Person, RosterRow]] = []
    entries: list[AuditLog] = []
    now = timezone.now()
    origin = audit.current_origin()
    actor_obj = actor if actor is not None and actor.pk else None

    def entry(action: str, person: Person, details: dict[str, Any]) -> AuditLog:
        return AuditLog(
            at=now,
            actor=actor_obj,
            actor_label=actor_obj.get_username() if actor_obj else origin.source,
            action=action,
            target_type="core.person",
            target_id=str(person.pk),
            area=person.household.area,
            source=origin.source,
            ip=origin.ip,
            user_agent=origin.user_agent,
            details=details,
        )

    for row in rows:
        household = places.household(row.building, row.unit, row.door)
        data = row.person
        if data.id_number:
            person = by_id.get(id_index(data.id_number))
        else:
            person = without_id.get((household.pk, data.name))
        if person is None:
            person = Person(
                household=household,
                name=data.name,
                id_number=data.id_number,
                id_number_index=id_index(data.id_number) if data.id_number else None,
                phone=data.phone,
                phone_index=phone_index(data.phone) if data.phone else None,
            )
            new_people.append((person, row))
            continue
        old_tags = {t.pk for t in person.tags.all()}
        changed = (
            person.household_id != household.pk
            or person.name != data.name
            or person.phone != data.phone
            or old_tags != {t.pk for t in data.tags}
        )
        if not changed:
            report.unchanged_people += 1
            continue
        before = PersonData(
            person.name, person.id_number, person.phone, tuple(person.tags.all())
        ).masked()
        person.household = household
        person.name = data.name
        person.phone = data.phone
        person.phone_index = phone_index(data.phone) if data.phone else None
        person.save()
        person.tags.set(data.tags)
        after = data.masked()
        entries.append(
            entry(
                "person.update",
                person,
                {
                    "by": "roster import",
                    "changes": {k: [before[k], after[k]] for k in after if before[k] != after[k]},
                },
            )
        )
        report.updated_people += 1

    created = Person.objects.bulk_create([p for p, _row in new_people], batch_size=500)
    if created and created[0].pk is None:  # backends without RETURNING (none we support)
        raise RuntimeError("bulk_create did not return primary keys")
    through = Person.tags.through
    through.objects.bulk_create(
        [through(person_id=p.pk, tag_id=t.pk) for p, row in new_people for t in row.person.tags],
        batch_size=1000,
    )
    entries.extend(
        entry("person.create", p, {"by": "roster import", **row.person.masked()})
        for p, row in new_people
    )
    AuditLog.objects.bulk_create(entries, batch_size=1000)
    report.created_people += len(new_people)


# --- export ----------------------------------------------------------------------------


def export_people(
    actor: Any, people: Iterable[Person], unmasked: bool = False, reason: str = ""
) -> bytes:
    """An .xlsx of residents; masked unless the actor may reveal and asked for full values
    with a reason."""
    require(actor, roles.EXPORT)
    clean_reason(unmasked, reason)  # refuse before reading anything
    people = list(people)
    names = ancestor_names(list({p.household.area.pk: p.household.area for p in people}.values()))
    export = PersonalExport(actor, "居民名单", unmasked, reason)
    export.append(["序号", *TEMPLATE_HEADER[:3], "地址", "门牌号", "标签"])
    for number, person in enumerate(people, start=1):
        export.append(
            [
                number,
                *export.person_cells(person),
                address_of(person.household.area, names),
                person.household.door,
                "、".join(t.name for t in person.tags.all()),
            ]
        )
    return export.finish("roster.export", {"count": len(people)})


def template_rows() -> Iterator[list[str]]:
    yield TEMPLATE_HEADER
    yield ["张三", "", "13800000000", "3", "2", "501", "独居老人"]
