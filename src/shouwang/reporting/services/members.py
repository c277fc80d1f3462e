"""An organisation's members, imported from the Excel list the organisation keeps.

The same layers as the residents' roster (`core.sheets` reads the file safely, `core.tabular`
finds the header and records in whatever layout the list has, `core.normalisers` make each
cell canonical) with the organisation's own columns (`MEMBER_SPEC`). All or nothing: any bad
row rejects the file with a report naming each row and column, and nothing is written.
Members are matched by ID number (blind index) within the organisation, so importing the
same list again changes nothing and an updated list updates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, normalisers
from shouwang.core.permissions import require
from shouwang.core.scoping import get_visible
from shouwang.core.services.people import id_index, phone_index
from shouwang.core.services.roster import LIMITS, RowError
from shouwang.core.sheets import SheetError, read_sheet
from shouwang.core.tabular import Column, Record, TableSpec, cell_text, header_key, read_table
from shouwang.core.text import squash, tidy
from shouwang.reporting.models import Isolation, Member, MemberKind, Organisation
from shouwang.reporting.perms import MANAGE_MEMBERS

MEMBER_SPEC = TableSpec(
    columns=(
        Column(
            "name", "姓名", ("员工姓名", "职工姓名", "学生姓名", "教师姓名", "名字", "name"), True
        ),
        Column(
            "id_number",
            "身份证号",
            ("身份证号码", "公民身份号码", "证件号码", "身份证件号码", "证件号", "身份证"),
        ),
        Column("phone", "手机号", ("手机号码", "手机", "联系电话", "电话", "联系方式")),
        Column("kind", "人员类型", ("人员类别", "类型", "类别", "身份")),
        Column(
            "department",
            "部门/班级",
            ("部门", "班级", "所在部门", "所在班级", "车间", "科室", "年级班级"),
            carry_down=True,
        ),
        Column("dormitory", "宿舍", ("宿舍号", "寝室", "寝室号", "住宿")),
        Column(
            "returned_from",
            "返回来源地",
            ("从何地返回", "来源地", "返回地", "返程出发地", "从何处返回", "近期去向"),
        ),
        Column("returned_on", "返回日期", ("返回时间", "返岗日期", "到达日期", "返校日期")),
        Column("isolation", "隔离状态", ("隔离情况", "是否隔离", "隔离")),
    )
)
LABELS = {c.key: c.label for c in MEMBER_SPEC.columns}
TEMPLATE_HEADER = [c.label for c in MEMBER_SPEC.columns]

KIND_WORDS = {
    MemberKind.WORKER: ("职工", "员工", "工人", "在职", "职员", "worker"),
    MemberKind.TEACHER: ("教师", "老师", "教职工", "教工", "班主任", "teacher"),
    MemberKind.STUDENT: ("学生", "学员", "student"),
}
ISOLATION_WORDS = {
    Isolation.NONE: ("无", "否", "未隔离", "不需要", "无需隔离", "正常", "-", "/"),
    Isolation.HOME: ("居家隔离", "居家", "居家观察", "居家健康观察", "居家隔离中"),
    Isolation.CENTRAL: ("集中隔离", "集中", "集中隔离中", "集中观察"),
    Isolation.ENDED: ("已解除", "解除隔离", "已解除隔离", "隔离期满", "已解除观察"),
}
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")


def _word(table: dict[Any, tuple[str, ...]], value: Any) -> Any:
    key = header_key(cell_text(value))
    for choice, words in table.items():
        if key in {header_key(w) for w in words}:
            return choice
    return None


def parse_date(value: Any, today: date | None = None) -> date | None:
    """A date as typed or as Excel stores it (2026-11-20, 2026/11/20, 11月20日, a date cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = squash(cell_text(value))
    if not text:
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValidationError(_("Write the date as 2026-11-20."), code="date")
    today = today or timezone.localdate()
    year = int(match.group(1)) if match.group(1) else today.year
    try:
        found = date(year, int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ValidationError(_("There is no such date."), code="date") from exc
    if found > today:
        raise ValidationError(_("The return date lies in the future."), code="date")
    return found


@dataclass(slots=True)
class MemberRow:
    row: int
    name: str
    id_number: str
    phone: str
    kind: str
    department: str
    dormitory: str
    returned_from: str
    returned_on: date | None
    isolation: str


@dataclass
class MemberReport:
    file_name: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class _Check:
    def __init__(self, record: Record, report: MemberReport) -> None:
        self.record = record
        self.report = report
        self.failed = False

    def problem(self, key: str, reason: str, warning: bool = False) -> None:
        into = self.report.warnings if warning else self.report.errors
        self.failed = self.failed or not warning
        into.append(
            RowError(self.record.row, LABELS[key], reason, self.record.letters.get(key, ""))
        )

    def clean(self, key: str, normaliser: Any) -> str:
        try:
            value, warning = normaliser(self.record.values.get(key))
        except ValidationError as exc:
            for message in exc.messages:
                self.problem(key, message)
            return ""
        if warning:
            self.problem(key, warning, warning=True)
        return str(value)


def parse(org: Organisation, file_name: str, data: bytes) -> tuple[list[MemberRow], MemberReport]:
    report = MemberReport(file_name)
    try:
        table = read_table(read_sheet(file_name, data, LIMITS), MEMBER_SPEC)
    except SheetError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return [], report
    report.skipped_rows = table.skipped
    default_kind = MemberKind.STUDENT if org.is_school else MemberKind.WORKER
    rows: list[MemberRow] = []
    seen: dict[str, int] = {}
    for record in table.records:
        report.rows += 1
        check = _Check(record, report)
        name = check.clean("name", normalisers.name)
        id_number = check.clean("id_number", normalisers.id_number)
        phone = check.clean("phone", normalisers.phone)
        kind = default_kind
        if cell_text(record.values.get("kind")):
            kind = _word(KIND_WORDS, record.values.get("kind"))
            if kind is None:
                check.problem("kind", _("Write 职工, 教师 or 学生."))
        isolation = Isolation.NONE
        if cell_text(record.values.get("isolation")):
            isolation = _word(ISOLATION_WORDS, record.values.get("isolation"))
            if isolation is None:
                check.problem("isolation", _("Write 无, 居家隔离, 集中隔离 or 已解除."))
        try:
            returned_on = parse_date(record.values.get("returned_on"))
        except ValidationError as exc:
            check.problem("returned_on", exc.messages[0])
            returned_on = None
        if not id_number and not check.failed:
            check.problem("id_number", _("ID number is required to tell members apart."))
        if id_number:
            first = seen.setdefault(id_number, record.row)
            if first != record.row:
                check.problem("id_number", _("Same ID number as row %(r)d.") % {"r": first})
        if check.failed:
            continue
        rows.append(
            MemberRow(
                record.row,
                name,
                id_number,
                phone,
                str(kind),
                tidy(cell_text(record.values.get("department")))[:50],
                tidy(cell_text(record.values.get("dormitory")))[:50],
                tidy(cell_text(record.values.get("returned_from")))[:100],
                returned_on,
                str(isolation),
            )
        )
    return rows, report


_FIELDS = (
    "name",
    "phone",
    "kind",
    "department",
    "dormitory",
    "returned_from",
    "returned_on",
    "isolation",
)


def import_members(
    actor: Any, org: Organisation, file_name: str, data: bytes, dry_run: bool = False
) -> MemberReport:
    """Read, check and (unless `dry_run` or any row is bad) apply in one transaction."""
    require(actor, MANAGE_MEMBERS)
    org = get_visible(actor, Organisation.objects.select_related("area"), org.pk)
    rows, report = parse(org, file_name, data)
    if not report.ok:
        return report
    existing = {
        m.id_number_index: m for m in Member.objects.filter(organisation=org).order_by("pk")
    }
    creates: list[Member] = []
    updates: list[Member] = []
    for row in rows:
        index = id_index(row.id_number)
        values = {
            "name": row.name,
            "phone": row.phone or None,
            "kind": row.kind,
            "department": row.department,
            "dormitory": row.dormitory,
            "returned_from": row.returned_from,
            "returned_on": row.returned_on,
            "isolation": row.isolation,
        }
        member = existing.get(index)
        if member is None:
            creates.append(
                Member(
                    organisation=org,
                    id_number=row.id_number,
                    id_number_index=index,
                    phone_index=phone_index(row.phone) if row.phone else None,
                    **values,
                )
            )
            continue
        changed = [f for f in _FIELDS if getattr(member, f) != values[f]] or (
            [] if member.active else ["active"]
        )
        if not changed:
            report.unchanged += 1
            continue
        for key, value in values.items():
            setattr(member, key, value)
        member.phone_index = phone_index(row.phone) if row.phone else None
        member.active = True
        member.updated_at = timezone.now()
        updates.append(member)
    report.created, report.updated = len(creates), len(updates)
    if dry_run:
        return report
    with transaction.atomic():
        Member.objects.bulk_create(creates, batch_size=500)
        if updates:
            Member.objects.bulk_update(
                updates, [*_FIELDS, "phone_index", "active", "updated_at"], batch_size=500
            )
        audit.record(
            "reporting.member_import",
            actor=actor,
            target=org,
            area=org.area,
            details={
                "file": file_name[:100],
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            },
        )
    report.applied = True
    return report
