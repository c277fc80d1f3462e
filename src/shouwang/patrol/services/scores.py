"""The daily score card (视频巡查成绩单): one score per community from the day's findings.

The rule, with the numbers from the `patrol_settings` kind (inherited down the area tree,
edited as rule settings in the admin; defaults in brackets):

    score = max(0, start[100]
                   − Σ over the day's findings  deduct_<category> × severity
                   − deduct_late[5]     × the day's findings whose order was answered after
                                          its deadline, or is still unanswered past it
                   − deduct_returned[3] × the times the day's orders were sent back)

with deduct_crowding 3, deduct_unmanned 5, deduct_not_checking 4, deduct_no_mask 2,
deduct_other 1 and severity 1 (minor), 2 (serious) or 3 (grave). A finding belongs to the
local day it was found on; its late and returned deductions stay on that day's card, so every
point on a card names its finding (and the finding its evidence). Ranking: highest score
first, ties by name. Communities of the town with no findings score the full start.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from shouwang.core.models import Area, AreaKind
from shouwang.core.scoping import Viewer
from shouwang.patrol.models import Finding, FindingCategory, FindingSeverity, RectificationOrder
from shouwang.patrol.services.orders import responsible_community, settings_for
from shouwang.patrol.services.rounds import zone


@dataclass(frozen=True)
class Deduction:
    finding: Finding
    reason: str  # "finding", "late", "returned"
    points: float


@dataclass
class Row:
    community: Area
    score: float = 0.0
    deductions: list[Deduction] = field(default_factory=list)
    rank: int = 0

    @property
    def lost(self) -> float:
        return sum(d.points for d in self.deductions)


@dataclass
class Card:
    town: Area
    day: date
    rows: list[Row]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), zone())
    return start, start + timedelta(days=1)


def deductions_of(
    finding: Finding, order: RectificationOrder | None, rules: dict[str, float], now: datetime
) -> list[Deduction]:
    found = [
        Deduction(
            finding,
            "finding",
            rules[f"deduct_{finding.category}"] * FindingSeverity(finding.severity).value,
        )
    ]
    if order is not None:
        if (order.answered_at or now) > order.deadline:
            found.append(Deduction(finding, "late", rules["deduct_late"]))
        if order.returns:
            found.append(Deduction(finding, "returned", rules["deduct_returned"] * order.returns))
    return found


def card(viewer: Viewer, town: Area, day: date, now: datetime | None = None) -> Card:
    """The town's card for a day, as far as the viewer may see (a community worker: their own
    community's row). Queries: communities, findings with their orders, the settings."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    communities = list(
        Area.objects.visible_to(viewer)
        .filter(path__startswith=town.path, kind=AreaKind.COMMUNITY)
        .order_by("name", "pk")
    )
    rows = {c.pk: Row(c) for c in communities}
    rules = settings_for(town)
    findings = (
        Finding.objects.visible_to(viewer)
        .filter(found_at__gte=start, found_at__lt=end, checkpoint__area__path__startswith=town.path)
        .select_related("checkpoint__area", "order", "evidence")
        .order_by("found_at", "pk")
    )
    by_path = {c.path: c for c in communities}
    per_community: dict[int, list[Deduction]] = defaultdict(list)
    for finding in findings:
        area = finding.checkpoint.area
        community = next(
            (by_path[p] for p in [area.path, *reversed(area.ancestor_paths())] if p in by_path),
            None,
        )
        if community is None:
            community = responsible_community(area)
            rows.setdefault(community.pk, Row(community))
        order = getattr(finding, "order", None)
        per_community[community.pk].extend(deductions_of(finding, order, rules, now))
    for pk, row in rows.items():
        row.deductions = per_community.get(pk, [])
        row.score = max(0.0, rules["score_start"] - row.lost)
    ranked = sorted(rows.values(), key=lambda r: (-r.score, r.community.name))
    for n, row in enumerate(ranked, start=1):
        row.rank = n
    return Card(town, day, ranked)


def trend(viewer: Viewer, town: Area, last_day: date, days: int = 7) -> dict[int, list[float]]:
    """Each community's score over the last `days` days (oldest first)."""
    series: dict[int, list[float]] = defaultdict(list)
    for offset in range(days - 1, -1, -1):
        for row in card(viewer, town, last_day - timedelta(days=offset)).rows:
            series[row.community.pk].append(row.score)
    return series


REASONS = {
    "finding": gettext_lazy("Finding"),
    "late": gettext_lazy("Rectified late"),
    "returned": gettext_lazy("Sent back"),
}


def workbook(card: Card) -> bytes:
    """The card as an .xlsx: the ranking, then every deduction with its finding."""
    from openpyxl import Workbook

    book = Workbook()
    del book[book.sheetnames[0]]
    sheet = book.create_sheet("成绩单")
    sheet.append([f"{card.town.name} 视频巡查成绩单 {card.day.isoformat()}"])
    sheet.append(["排名", "社区", "得分", "扣分"])
    for row in card.rows:
        sheet.append([row.rank, row.community.name, row.score, row.lost])
    detail = book.create_sheet("扣分明细")
    detail.append(["社区", "卡口", "时间", "问题", "严重程度", "原因", "扣分", "问题编号"])
    for row in card.rows:
        for d in row.deductions:
            f = d.finding
            detail.append(
                [
                    row.community.name,
                    f"{f.checkpoint.area.name} {f.checkpoint.name}",
                    f.found_at.astimezone(zone()).strftime("%Y-%m-%d %H:%M"),
                    str(FindingCategory(f.category).label),
                    str(FindingSeverity(f.severity).label),
                    str(REASONS[d.reason]),
                    d.points,
                    f.pk,
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def picture(card: Card) -> bytes:
    """The card as a PNG for a chat group. Needs a CJK font installed on the server (Debian:
    fonts-noto-cjk); without one the names fall back to Pillow's own font."""
    from PIL import Image, ImageDraw, ImageFont

    font: Any = None
    for path in FONT_PATHS:
        try:
            font = ImageFont.truetype(path, 22)
            break
        except OSError:
            continue
    if font is None:
        font = ImageFont.load_default()
    height = 90 + 40 * max(1, len(card.rows))
    image = Image.new("RGB", (640, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text(
        (20, 20),
        f"{card.town.name} 视频巡查成绩单 {card.day.isoformat()}",
        fill=(0, 0, 0),
        font=font,
    )
    for n, row in enumerate(card.rows):
        y = 70 + 40 * n
        colour = (180, 30, 30) if row.score < 90 else (20, 20, 20)
        draw.text((20, y), f"{row.rank}", fill=colour, font=font)
        draw.text((70, y), row.community.name, fill=colour, font=font)
        draw.text((420, y), f"{row.score:g}", fill=colour, font=font)
        draw.text((520, y), f"-{row.lost:g}", fill=colour, font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
