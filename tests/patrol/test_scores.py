"""The daily score card, computed by hand: start at 100; a finding costs its category's points
times its severity; an order answered late costs 5, each sending back 3. Each deduction names
its finding; the ranking puts the best first; a community worker sees only their own row."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from django.test import Client
from openpyxl import load_workbook
from PIL import Image

from shouwang.patrol.models import FindingCategory, FindingSeverity
from shouwang.patrol.services import orders, rounds, scores, snapshots
from shouwang.patrol.services.rounds import FindingData
from tests.conftest import Town
from tests.patrol.conftest import Patrol

DAY = date(2026, 3, 2)


def _day_of_findings(patrol: Patrol, town: Town, clock: Any) -> None:
    """Morning round: 东门 (东风社区) 人员聚集, serious; 南门 (向阳社区) OK.
    Afternoon round: 东门 OK; 南门 未戴口罩, grave. 东风's order is answered late and sent back
    once; 向阳's is answered in time."""
    plan = rounds.ensure_plan(patrol.operator, town.street)
    morning = rounds.open_round(patrol.operator, plan, DAY, 0)
    east = morning.stops.get(checkpoint=patrol.east_gate)
    evidence = snapshots.fetch_now(patrol.operator, patrol.east_camera)
    east_finding = rounds.record_finding(
        patrol.operator,
        east,
        FindingData(FindingCategory.CROWDING, FindingSeverity.SERIOUS, "", evidence),
    )
    rounds.mark_ok(patrol.operator, morning.stops.get(checkpoint=patrol.west_gate))
    clock.shift(timedelta(hours=5))  # 13:30
    afternoon = rounds.open_round(patrol.operator, plan, DAY, 1)
    rounds.mark_ok(patrol.operator, afternoon.stops.get(checkpoint=patrol.east_gate))
    west_finding = rounds.record_finding(
        patrol.operator,
        afternoon.stops.get(checkpoint=patrol.west_gate),
        FindingData(FindingCategory.NO_MASK, FindingSeverity.GRAVE),
    )
    assert east_finding is not None
    assert west_finding is not None
    orders.answer(town.west_worker, west_finding.order, "已提醒佩戴口罩", None)
    clock.shift(timedelta(hours=20))  # the next day 09:30: 东风's deadline (08:30) has passed
    orders.answer(town.east_worker, east_finding.order, "已劝散", None)
    orders.send_back(patrol.operator, east_finding.order, "仍有聚集")


def test_the_card_is_computed_as_by_hand(patrol: Patrol, town: Town, clock: Any) -> None:
    _day_of_findings(patrol, town, clock)
    card = scores.card(patrol.operator, town.street, DAY)
    by_name = {row.community.name: row for row in card.rows}
    east, west = by_name["东风社区"], by_name["向阳社区"]
    # 东风: 100 − 3 × 2 (crowding, serious) − 5 (late) − 3 (sent back once) = 86
    assert east.score == 86
    assert sorted((d.reason, d.points) for d in east.deductions) == [
        ("finding", 6),
        ("late", 5),
        ("returned", 3),
    ]
    # 向阳: 100 − 2 × 3 (no mask, grave) = 94, answered in time
    assert west.score == 94
    assert [(r.rank, r.community.name) for r in card.rows] == [(1, "向阳社区"), (2, "东风社区")]
    assert all(d.finding.checkpoint.area.path.startswith(town.east.path) for d in east.deductions)
    assert east.deductions[0].finding.evidence is not None
    # The next day has no findings: everyone at 100.
    assert [
        r.score for r in scores.card(patrol.operator, town.street, DAY + timedelta(days=1)).rows
    ] == [100, 100]
    # Another town's operator sees none of it.
    assert scores.card(patrol.other_operator, town.street, DAY).rows == []


def test_the_rules_come_from_the_area_settings(patrol: Patrol, town: Town, clock: Any) -> None:
    from shouwang.alerts.models import RuleSetting

    RuleSetting.objects.create(
        area=town.street, kind="patrol_settings", params={"deduct_crowding": 10, "deduct_late": 0}
    )
    _day_of_findings(patrol, town, clock)
    east = next(r for r in scores.card(None, town.street, DAY).rows if r.community == town.east)
    assert east.score == 100 - 10 * 2 - 0 - 3


def test_the_card_page_export_and_image(patrol: Patrol, town: Town, clock: Any) -> None:
    _day_of_findings(patrol, town, clock)
    client = Client()
    client.force_login(patrol.operator)
    html = client.get(f"/patrol/scores/?day={DAY}").content.decode()
    assert "东风社区" in html
    assert "86" in html
    assert "人员聚集" in html
    assert client.get("/patrol/scores/?day=0001-01-01").status_code == 200  # out of range: today
    book = load_workbook(io.BytesIO(client.get(f"/patrol/scores/export.xlsx?day={DAY}").content))
    ranking = list(book["成绩单"].iter_rows(min_row=3, values_only=True))
    assert ranking == [(1, "向阳社区", 94, 6), (2, "东风社区", 86, 14)]
    assert len(list(book["扣分明细"].iter_rows(min_row=2))) == 4
    png = client.get(f"/patrol/scores/card.png?day={DAY}")
    assert png["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size[0] == 640
    # A community worker sees their own community's row only.
    worker = Client()
    worker.force_login(town.west_worker)
    page = worker.get(f"/patrol/scores/?day={DAY}").content.decode()
    assert "向阳社区" in page
    assert "东风社区" not in page
