"""Resident rosters: import from the spreadsheets communities keep, export to Excel.

An import is all or nothing. Every row is read and checked first; if any row is bad the whole
file is rejected with a report naming each bad row (its spreadsheet row number and column),
and nothing is written. A good file is applied in one transaction. Importing the same file
again changes nothing: people are matched by ID number (through the blind index), or by
household and name when the roster has no ID.

The layers, each reusable on its own: `sheets` reads the file safely (limits, zip bombs,
merged ranges), `tabular` finds the header and the records in the layout people make
(`RESIDENT_SPEC` names our columns and their synonyms), `normalisers` make each value
canonical; this module turns records into residents, plans the changes (the preview) and
applies them. Large files are read by a task (`roster_uploads`), with progress.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, identity, normalisers, roles
from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person, Tag
from shouwang.core.permissions import require, require_area
from shouwang.core.scoping import user_covers_area
from shouwang.core.services.areas import add_area_node, address_of, ancestor_names
from shouwang.core.services.exports import PersonalExport, clean_reason
from shouwang.core.services.people import PersonData, id_index, phone_index
from shouwang.core.sheets import Limits, Progress, SheetError, read_sheet
from shouwang.core.tabular import (
    Column,
    Record,
    Table,
    TableSpec,
    cell_text,
    header_key,
    read_table,
)

MAX_ROWS = 50_000
LIMITS = Limits()  # what an uploaded roster may hold; see sheets.Limits
RESIDENT_SPEC = TableSpec(
    columns=(
        Column("name", "姓名", ("居民姓名", "人员姓名", "名字", "name"), required=True),
        Column(
            "id_number",
            "身份证号",
            (
                "身份证号码",
                "公民身份号码",
                "证件号码",
                "身份证件号码",
                "身份号码",
                "证件号",
                "身份证",
                "id number",
                "id_number",
            ),
        ),
        Column(
            "phone",
            "手机号",
            ("手机号码", "手机", "联系电话", "电话号码", "电话", "联系方式", "phone"),
        ),
        Column(
            "building",
            "楼栋",
            ("楼号", "楼栋号", "楼幢", "幢号", "栋号", "幢", "栋", "楼", "楼宇", "building"),
            required=True,
            carry_down=True,
        ),
        Column("unit", "单元", ("单元号", "unit"), carry_down=True),
        Column(
            "door",
            "门牌号",
            ("门牌", "门牌号码", "房号", "房间号", "房屋号", "室号", "室", "户号", "door"),
            required=True,
        ),
        Column(
            "tags",
            "标签",
            ("人员类别", "人员标签", "人员类型", "类别", "特殊人群", "重点人群", "tags"),
        ),
    ),
    max_records=MAX_ROWS,
)
TEMPLATE_HEADER = [c.label for c in RESIDENT_SPEC.columns]
LABELS = {c.key: c.label for c in RESIDENT_SPEC.columns}
# The words committees use for our tags, by tag code. A tag's own name, code and English name
# always match as well; anything else is reported as a warning on its row, not a rejection.
TAG_SYNONYMS: dict[str, tuple[str, ...]] = {
    "elderly": ("老人", "老年人", "老年", "高龄老人", "高龄", "60岁以上老人"),
    "living_alone": ("独居老人", "独居", "独居老年人", "空巢老人", "孤寡老人"),
    "disabled": ("残疾人", "残疾", "残障", "残障人士"),
    "chronic_illness": ("慢性病", "慢病", "慢性病患者", "基础病", "基础性疾病"),
    "pregnant": ("孕产妇", "孕妇", "产妇"),
    "tenant": ("租户", "租客", "租住", "出租户", "承租人"),
    "under_quarantine": ("居家隔离", "居家隔离中", "居家观察", "居家健康观察", "隔离"),
}
_TAG_SPLIT = re.compile(r"[,，、;；/\\|\s]+")
_PREVIEW_ITEMS = 500  # rows listed one by one in a preview; the counts are always complete


class RosterFileError(SheetError):
    """The file as a whole cannot be read (wrong type, no header, too large)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str
    letter: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
            "letter": self.letter,
        }


@dataclass(slots=True)
class RosterRow:
    row: int
    person: PersonData
    building: str
    unit: str
    door: str

    @property
    def place(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.door)


@dataclass
class PlannedRow:
    row: RosterRow
    action: str  # "create", "update" or "unchanged"
    person: Person | None = None
    changes: list[str] = field(default_factory=list)  # column labels


@dataclass
class ImportReport:
    file_name: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    header_rows: tuple[int, int] = (0, 0)
    columns: dict[str, str] = field(default_factory=dict)  # label → "C 身份证号码"
    created_people: int = 0
    updated_people: int = 0
    unchanged_people: int = 0
    created_households: int = 0
    created_areas: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)  # preview lines, masked
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "rows": self.rows,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "skipped_rows": self.skipped_rows,
            "header_rows": list(self.header_rows),
            "columns": self.columns,
            "created_people": self.created_people,
            "updated_people": self.updated_people,
            "unchanged_people": self.unchanged_people,
            "created_households": self.created_households,
            "created_areas": self.created_areas,
            "items": self.items,
            "applied": self.applied,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        report = cls(file_name=data.get("file_name", ""))
        for key in (
            "rows",
            "skipped_rows",
            "columns",
            "created_people",
            "updated_people",
            "unchanged_people",
            "created_households",
            "created_areas",
            "items",
            "applied",
        ):
            if key in data:
                setattr(report, key, data[key])
        first, last = data.get("header_rows") or (0, 0)
        report.header_rows = (int(first), int(last))
        report.errors = [RowError(**e) for e in data.get("errors", [])]
        report.warnings = [RowError(**w) for w in data.get("warnings", [])]
        return report


# --- reading ---------------------------------------------------------------------------


class TagVocabulary:
    """Tag names as people write them → our tags."""

    def __init__(self, tags: Iterable[Tag]) -> None:
        self.by_word: dict[str, Tag] = {}
        for tag in tags:
            for word in (tag.name, tag.code, tag.name_en, *TAG_SYNONYMS.get(tag.code, ())):
                if word:
                    self.by_word.setdefault(header_key(word), tag)

    @classmethod
    def load(cls) -> TagVocabulary:
        return cls(Tag.objects.all())

    def find(self, word: str) -> Tag | None:
        return self.by_word.get(header_key(word))


def read_file(
    file_name: str, data: bytes, progress: Progress | None = None, limits: Limits | None = None
) -> Table:
    """The records of a roster file, or RosterFileError saying why it cannot be read."""
    try:
        return read_table(read_sheet(file_name, data, limits or LIMITS, progress), RESIDENT_SPEC)
    except SheetError as exc:
        raise RosterFileError(str(exc)) from exc


class _RowCheck:
    """One record's values normalised, its problems and warnings collected."""

    def __init__(self, record: Record, warnings: list[RowError]) -> None:
        self.record = record
        self.errors: list[RowError] = []
        self.warnings = warnings

    def problem(self, key: str, reason: str, warning: bool = False) -> None:
        into = self.warnings if warning else self.errors
        letter = self.record.letters.get(key, "")
        into.append(RowError(self.record.row, LABELS[key], reason, letter))

    def clean(self, key: str, normaliser: Any) -> str | None:
        try:
            value, warning = normaliser(self.record.values.get(key))
        except ValidationError as exc:
            for message in exc.messages:
                self.problem(key, message)
            return None
        if warning:
            self.problem(key, warning, warning=True)
        return str(value)

    def tags(self, vocabulary: TagVocabulary) -> tuple[Tag, ...]:
        found: list[Tag] = []
        for word in _TAG_SPLIT.split(cell_text(self.record.values.get("tags"))):
            if not word:
                continue
            tag = vocabulary.find(word)
            if tag is None:
                self.problem("tags", _("Unknown tag “%(t)s”: not imported.") % {"t": word}, True)
            elif tag.system:
                message = _(
                    "“%(t)s” is set by the system when a quarantine case is opened, not by an "
                    "import: open a case for this person instead."
                )
                self.problem("tags", message % {"t": word}, True)
            elif tag not in found:
                found.append(tag)
        return tuple(found)


def parse(
    table: Table, vocabulary: TagVocabulary
) -> tuple[list[RosterRow], list[RowError], list[RowError]]:
    """Records → residents; errors and warnings carry the spreadsheet's own row numbers."""
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    seen_ids: dict[str, int] = {}
    seen_doors: dict[tuple[str, str, str, str], int] = {}
    # The records are consumed as they are checked, so that a large file's records and its
    # residents are not both held in full at the peak.
    records: list[Record | None] = list(table.records)
    table.records = []
    for index, maybe in enumerate(records):
        records[index] = None
        record = maybe
        if record is None:  # pragma: no cover - each slot is read once
            continue
        check = _RowCheck(record, warnings)
        name = check.clean("name", normalisers.name)
        id_number = check.clean("id_number", normalisers.id_number)
        phone = check.clean("phone", normalisers.phone)
        building = check.clean("building", normalisers.building)
        unit = check.clean("unit", normalisers.unit) or ""
        door = check.clean("door", normalisers.door)
        tags = check.tags(vocabulary)
        if building == "":
            check.problem("building", _("Building is required."))
        if door == "":
            check.problem("door", _("Door number is required."))
        if id_number:
            first = seen_ids.setdefault(id_number, record.row)
            if first != record.row:
                check.problem("id_number", _("Same ID number as row %(r)d.") % {"r": first})
        elif name and building and door:
            first = seen_doors.setdefault((building, unit, door, name), record.row)
            if first != record.row:
                check.problem(
                    "name",
                    _("Same person (no ID number) in the same household as row %(r)d.")
                    % {"r": first},
                )
        if check.errors or not name or not building or not door:
            errors.extend(check.errors)
            continue
        rows.append(
            RosterRow(
                record.row,
                PersonData(name, id_number or None, phone or None, tags),
                building,
                unit,
                door,
            )
        )
    return rows, errors, warnings


# --- planning and applying -------------------------------------------------------------


class _Places:
    """Buildings, units and households under the target area: found, or created on first use."""

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

    def find(self, building: str, unit: str, door: str) -> tuple[Household | None, int]:
        """The existing household, or None and how many areas it would need created."""
        area = self.children.get((self.root.path, building))
        if area is None:
            return None, 2 if unit else 1
        if unit:
            area = self.children.get((area.path, unit))
            if area is None:
                return None, 1
        return self.households.get((area.pk, door)), 0

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


def _where(row: RosterRow) -> str:
    return " ".join(p for p in row.place if p)


def plan(actor: Any, area: Area, rows: list[RosterRow], report: ImportReport) -> list[PlannedRow]:
    """What applying the rows would do, without writing; scope problems go to report.errors."""
    by_id, without_id = _existing_people(rows, area)
    places = _Places(actor, area, report)
    planned: list[PlannedRow] = []
    new_places: set[tuple[str, ...]] = set()
    for row in rows:
        data = row.person
        person: Person | None = None
        household, missing_areas = places.find(*row.place)
        if household is None and row.place not in new_places:
            new_places.add(row.place)
            report.created_households += 1
            # Count each new building or unit once, however many households it gets.
            for depth in range(missing_areas):
                key = row.place[: 2 - depth] if row.unit else row.place[:1]
                if key not in new_places:
                    new_places.add(key)
                    report.created_areas += 1
        if data.id_number:
            person = by_id.get(id_index(data.id_number))
            if (
                person is not None
                and actor is not None
                and not user_covers_area(actor, person.household.area.path)
            ):
                report.errors.append(
                    RowError(
                        row.row,
                        LABELS["id_number"],
                        _(
                            "This person is registered in a household outside your areas: "
                            "ask the town operator to move them."
                        ),
                    )
                )
                continue
        elif household is not None:
            person = without_id.get((household.pk, data.name))
        if person is None:
            planned.append(PlannedRow(row, "create"))
            continue
        changes = []
        if household is None or person.household_id != household.pk:
            changes.append(_("address"))
        if person.name != data.name:
            changes.append(LABELS["name"])
        if person.phone != data.phone:
            changes.append(LABELS["phone"])
        if {t.pk for t in person.tags.all()} != {t.pk for t in data.tags}:
            changes.append(LABELS["tags"])
        planned.append(PlannedRow(row, "update" if changes else "unchanged", person, changes))
    report.created_people = sum(p.action == "create" for p in planned)
    report.updated_people = sum(p.action == "update" for p in planned)
    report.unchanged_people = sum(p.action == "unchanged" for p in planned)
    report.items = [
        {
            "row": p.row.row,
            "action": p.action,
            "name": identity.mask_name(p.row.person.name),
            "address": _where(p.row),
            "changes": p.changes,
        }
        for p in planned
        if p.action != "unchanged"
    ][:_PREVIEW_ITEMS]
    return planned


def check_file(
    actor: Any,
    area: Area,
    file_name: str,
    data: bytes,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> tuple[ImportReport, list[PlannedRow]]:
    """Read, check and plan a roster: the preview. Nothing is written."""
    check_target(actor, area)
    report = ImportReport(file_name=file_name)
    try:
        table = read_file(file_name, data, progress, limits)
    except RosterFileError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report, []
    report.header_rows = table.header_rows
    report.columns = {
        LABELS[key]: f"{table.letters[key]} {header}" for key, header in table.headers.items()
    }
    report.skipped_rows = table.skipped
    rows, errors, warnings = parse(table, TagVocabulary.load())
    report.rows = len(rows) + len({e.row for e in errors})
    report.errors.extend(errors)
    report.warnings.extend(warnings)
    if not rows and not errors:
        report.errors.append(RowError(0, "", _("The file has a header but no residents.")))
    planned = plan(actor, area, rows, report)
    report.errors.sort(key=lambda e: (e.row, e.letter, e.column))
    if report.errors:
        report.items = []
        return report, []
    return report, planned


def import_roster(
    actor: Any,
    area: Area,
    file_name: str,
    data: bytes,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check the whole file, then apply it in one transaction, or write nothing at all."""
    report, planned = check_file(actor, area, file_name, data, progress, limits)
    if not report.ok:
        return report
    # The counts are recomputed as the rows are written (the database may have moved on
    # since a preview was shown).
    applied = ImportReport(
        file_name=file_name,
        rows=report.rows,
        warnings=report.warnings,
        skipped_rows=report.skipped_rows,
        header_rows=report.header_rows,
        columns=report.columns,
        items=report.items,
    )
    with transaction.atomic():
        _apply(actor, area, planned, applied)
        audit.record(
            "roster.import",
            actor=actor,
            area=area,
            details={
                "file": file_name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": applied.rows,
                "created": applied.created_people,
                "updated": applied.updated_people,
                "unchanged": applied.unchanged_people,
                "households": applied.created_households,
                "areas": applied.created_areas,
                "warnings": len(applied.warnings),
            },
        )
    applied.applied = True
    return applied


def _apply(actor: Any, root: Area, planned: list[PlannedRow], report: ImportReport) -> None:
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

    for item in planned:
        row = item.row
        household = places.household(row.building, row.unit, row.door)
        data = row.person
        person = item.person
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
        if item.action == "unchanged":
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
