"""Member lists as organisations keep them, written with openpyxl: a title merged across the
top, headers on two lines or spaced out, the department merged down its members, blank rows
between departments, a page header repeated, full-width digits and a lower-case x, phones
written with +86 and hyphens, and a footer (合计, 制表人)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment

from shouwang.core.identity import id_check_char

FULL = str.maketrans("0123456789Xx-", "０１２３４５６７８９Ｘｘ－")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"


@dataclass(frozen=True)
class Worker:
    name: str
    id_number: str
    phone: str
    department: str


def make_id(n: int) -> str:
    first17 = f"4403051990{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def workers(count: int, start: int = 0) -> list[Worker]:
    found = []
    for i in range(start, start + count):
        name = SURNAMES[i % 20] + GIVEN[(i // 20) % 20] + (GIVEN[i % 7] if i % 3 else "")
        found.append(
            Worker(name, make_id(i + 1), f"139{i:08d}", ("生产一部", "仓储部", "行政部")[i % 3])
        )
    return sorted(found, key=lambda w: w.department)


# The header printed again on a later page: one row naming every column.
REPEATED_HEADER = [
    "序号",
    "所在部门",
    "姓 名",
    "身份证\n号码",
    "联系\n电话",
    "从何地返回",
    "返回时间",
    "隔离情况",
]


def messy_xlsx(people: list[Worker], title: str = "守望精密制造有限公司员工花名册") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    sheet.append(["填报日期：2026年12月1日"])
    # Two header rows: 基本信息 over 姓 名 / 身份证\n号码, 返岗情况 over the return columns.
    sheet.append(["序号", "所在部门", "基本信息", None, None, "返岗情况", None, None])
    sheet.append(
        [None, None, "姓 名", "身份证\n号码", "联系\n电话", "从何地返回", "返回时间", "隔离情况"]
    )
    sheet.merge_cells(start_row=3, start_column=3, end_row=3, end_column=5)
    sheet.merge_cells(start_row=3, start_column=6, end_row=3, end_column=8)
    row = 5
    department = ""
    repeated = False
    block_start = row
    for number, person in enumerate(people, start=1):
        if person.department != department:
            if department:
                if row - 1 > block_start:
                    sheet.merge_cells(
                        start_row=block_start, start_column=2, end_row=row - 1, end_column=2
                    )
                sheet.append([])  # a blank row between departments
                row += 1
                if not repeated and number > 30:
                    # The header printed again at the top of a page (a later one: within
                    # the first 20 rows the importer takes it for the header itself).
                    sheet.append(REPEATED_HEADER)
                    row += 1
                    repeated = True
            department = person.department
            block_start = row
        id_cell = person.id_number
        phone_cell: object = person.phone
        if number % 5 == 0:
            id_cell = id_cell.lower().translate(FULL)
        if number % 4 == 0:
            phone_cell = f"+86 {person.phone[:3]}-{person.phone[3:7]}-{person.phone[7:]}"
        elif number % 7 == 0:
            phone_cell = int(person.phone)  # typed as a number
        returned = ("武汉", "2026-11-20", "居家隔离") if number % 9 == 0 else (None, None, None)
        sheet.append(
            [
                number,
                person.department if row == block_start else None,
                f" {person.name} ",
                id_cell,
                phone_cell,
                *returned,
            ]
        )
        sheet.cell(row=row, column=4).alignment = Alignment(wrap_text=True)
        row += 1
    if row - 1 > block_start:
        sheet.merge_cells(start_row=block_start, start_column=2, end_row=row - 1, end_column=2)
    sheet.append([])
    sheet.append([f"合计：共{len(people)}人"])
    sheet.append(["制表人：李会计", None, None, "审核人：王经理"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8-sig")
