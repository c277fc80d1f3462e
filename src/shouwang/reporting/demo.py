"""The demo town's organisations: two enterprises and a school in the first community, their
members imported from a list through the same importer, a week of declarations (one
enterprise late today), a fever today, and contacts who log in (`company`, `school`).
Idempotent: a second run adds nothing."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from shouwang.core.demo import DEMO_PASSWORD, DemoTown, fake_id_number
from shouwang.core.models import Area, AreaKind, User
from shouwang.core.models.staff import Role
from shouwang.core.services.staff import create_staff
from shouwang.reporting import codes
from shouwang.reporting.models import Application, Contact, Member, Organisation, OrgKind, Slot
from shouwang.reporting.services import applications, declarations, members, organisations

# name, kind, area code part, members, contact username
ORGANISATIONS = (
    ("守望精密制造有限公司", OrgKind.ENTERPRISE, "MA01", 24, "company"),
    ("东风物流有限公司", OrgKind.ENTERPRISE, "MA02", 12, "company2"),
    ("守望实验小学", OrgKind.SCHOOL, "", 30, "school"),
)
DEPARTMENTS = ("生产一部", "生产二部", "仓储部", "行政部")
CLASSES = ("三年级一班", "三年级二班", "四年级一班")


def demo_credit_code(part: str, number: int) -> str:
    first17 = f"913101{number:02d}{part}{number:05d}"[:17].ljust(17, "0")
    return first17 + codes.credit_check_char(first17)


def _list(rng: random.Random, fake: Any, kind: str, size: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    school = kind == OrgKind.SCHOOL
    writer.writerow(
        [
            "序号",
            "姓名",
            "身份证号码",
            "联系电话",
            "班级" if school else "部门",
            "宿舍",
            "从何地返回",
            "返回日期",
            "隔离情况",
        ]
    )
    today = timezone.localdate()
    for n in range(1, size + 1):
        age = rng.randint(8, 11) if school else rng.randint(20, 58)
        birth = date(2026, 1, 1) - timedelta(days=age * 365 + rng.randint(0, 364))
        returned = rng.random() < 0.2
        writer.writerow(
            [
                n,
                fake.name(),
                fake_id_number(rng, birth),
                fake.phone_number(),
                rng.choice(CLASSES if school else DEPARTMENTS),
                f"{rng.randint(1, 6)}-{rng.randint(101, 420)}" if not school and n % 3 == 0 else "",
                rng.choice(["武汉", "广州", "成都"]) if returned else "",
                (today - timedelta(days=rng.randint(3, 20))).isoformat() if returned else "",
                "居家隔离" if returned and n % 2 else "",
            ]
        )
    return out.getvalue().encode()


def demo_part(town: DemoTown) -> None:
    if not Organisation.objects.exists() and town.street is not None:
        _seed_organisations(town)
    if not Application.objects.exists():
        _seed_applications()


PLAN = "每日两次测温并申报；错峰上下班、分餐就餐；设立临时隔离观察室；返岗人员核验行程。"


def _seed_applications() -> None:
    """An application in each state: approved (with a cap) and a new one submitted, returned
    with a reason, under review."""
    reviewer = User.objects.filter(username="reviewer").first()
    by_contact = {
        c.user.username: c for c in Contact.objects.select_related("user", "organisation")
    }
    if reviewer is None or not {"company", "company2", "school"} <= by_contact.keys():
        return
    company, company2, school = (by_contact[n] for n in ("company", "company2", "school"))
    first = applications.submit(None, company.organisation, PLAN, 24, 20)
    applications.start_review(reviewer, first)
    applications.approve(reviewer, first, cap=22, conditions="在岗不超过22人，错峰上班")
    applications.submit(None, company.organisation, PLAN + "扩大产能至全员返岗。", 24, 24)
    second = applications.submit(None, company2.organisation, PLAN, 12, 10)
    applications.start_review(reviewer, second)
    applications.send_back(reviewer, second, "请补充返岗人员行程核验材料")
    third = applications.submit(None, school.organisation, PLAN, 30, 30)
    applications.start_review(reviewer, third)


def _seed_organisations(town: DemoTown) -> None:
    if town.street is None:
        return
    community = (
        Area.objects.filter(path__startswith=town.street.path, kind=AreaKind.COMMUNITY)
        .order_by("path")
        .first()
    )
    if community is None:
        return
    from faker import Faker  # only the demo needs it

    rng = random.Random(town.seed + 16)  # noqa: S311 - fake data, not secrets
    fake = Faker("zh_CN")
    fake.seed_instance(town.seed + 16)
    today = timezone.localdate()
    if not User.objects.filter(username="reviewer").exists():
        create_staff(None, "reviewer", DEMO_PASSWORD, Role.REVIEWER, [town.street], "复工审核员")
    for number, (name, kind, part, size, username) in enumerate(ORGANISATIONS, start=1):
        org = organisations.create_organisation(
            None,
            kind,
            name,
            community,
            credit_code=demo_credit_code(part, number) if part else "",
            education_code="" if part else f"21310{number:05d}",
        )
        organisations.add_contact(None, org, username, DEMO_PASSWORD, f"{name}联系人")
        report = members.import_members(None, org, f"{name}.csv", _list(rng, fake, kind, size))
        if not report.ok:
            raise RuntimeError(f"demo member list rejected: {report.errors[:3]}")
        roster = list(Member.objects.filter(organisation=org).order_by("pk"))
        late = username == "company2"
        for back in range(6, -1, -1):
            day = today - timedelta(days=back)
            for slot in declarations.slots_for(org):
                if back == 0 and (late or slot == Slot.NOON):
                    continue  # today: one enterprise has not reported, the school's noon is due
                entries = []
                for index, member in enumerate(roster):
                    if back == 0 and index % 7 == 6:
                        continue  # a few still missing today
                    entry = declarations.Entry(member.pk, f"36.{rng.randint(2, 8)}", travel="")
                    if kind == OrgKind.SCHOOL and back == 1 and index == 3:
                        entry = declarations.Entry(
                            member.pk, None, absence="illness", absence_note="发热，家中休息"
                        )
                    if back == 0 and index == 0 and username == "company":
                        entry.temperature = "38.2"  # today's fever: an alert for the area
                    entries.append(entry)
                declarations.declare(None, org, day, slot, entries)
