"""Blind inspections: a seeded draw that respects the weights, hidden from the community (404),
recorded from a phone with its checklist, photo, video link and place; failed items become
findings and orders that count on the score card; coverage of the town's checkpoints."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shouwang.patrol.models import FindingCategory, Inspection, RectificationOrder
from shouwang.patrol.services import inspections, rounds, scores
from shouwang.patrol.services.rounds import FindingData
from shouwang.patrol.services.setup import add_checkpoint
from tests.conftest import Town
from tests.patrol.camera_server import gate_jpeg
from tests.patrol.conftest import Patrol

DAY = date(2026, 3, 2)
ALL_OK = {"staffed": True, "checking": True, "no_crowd": True, "masks": True}


def test_the_draw_is_weighted_towards_the_community_that_scored_badly(
    patrol: Patrol, town: Town, clock: Any
) -> None:
    for n in range(4):
        add_checkpoint(None, town.east_compound, f"东{n}号门")
        add_checkpoint(None, town.west_compound, f"西{n}号门")
    # Yesterday 东风社区 lost 3 × 3 × 3 = 27 points (weight 28), 向阳社区 none (weight 1).
    yesterday = DAY - timedelta(days=1)
    clock.shift(timedelta(days=-1))
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, yesterday, 0)
    stop = round_.stops.get(checkpoint=patrol.east_gate)
    rounds.record_finding(patrol.operator, stop, FindingData(FindingCategory.CROWDING, 3))
    clock.shift(timedelta(days=1))
    weights = inspections.weights(town.street, DAY)
    assert weights[town.east.pk] == 1 + 9
    firsts: Counter[str] = Counter()
    for seed in range(200):
        drawn = inspections.draw(patrol.operator, patrol.operator, town.street, DAY, 1, seed=seed)
        firsts[drawn[0].checkpoint.area.name] += 1
        Inspection.objects.all().delete()
    # 5 east checkpoints × 10 against 5 west × 1: about 91 % east.
    assert firsts["东风花园"] > 160
    assert firsts["向阳小区"] > 0
    drawn = inspections.draw(patrol.operator, patrol.operator, town.street, DAY, 20, seed=1)
    assert len({d.checkpoint_id for d in drawn}) == len(drawn) == 10  # no repeats, town only
    with pytest.raises(ValidationError):
        inspections.draw(patrol.operator, patrol.operator, town.street, DAY, 0)


def test_a_community_cannot_see_the_list(patrol: Patrol, town: Town, clock: Any) -> None:
    (task,) = inspections.draw(patrol.operator, patrol.operator, town.street, DAY, 1, seed=3)
    worker = Client()
    worker.force_login(town.east_worker)
    for url in (
        "/patrol/inspections/",
        f"/patrol/inspections/{task.pk}/",
        "/patrol/inspections/coverage/",
    ):
        assert worker.get(url).status_code == 404
    other = Client()
    other.force_login(patrol.other_operator)
    assert other.get(f"/patrol/inspections/{task.pk}/").status_code == 404


def test_a_visit_from_the_phone_becomes_findings_and_coverage(
    patrol: Patrol, town: Town, clock: Any
) -> None:
    (task,) = inspections.draw(patrol.operator, patrol.operator, town.street, DAY, 1, seed=5)
    client = Client()
    client.force_login(patrol.operator)
    assert task.checkpoint.name in client.get("/patrol/inspections/").content.decode()
    bad = client.post(
        f"/patrol/inspections/{task.pk}/",
        {"staffed": "on", "video_link": "javascript:alert(1)"},
    )
    assert bad.status_code == 200
    answer = client.post(
        f"/patrol/inspections/{task.pk}/",
        {
            "checking": "on",
            "no_crowd": "on",
            "masks": "on",
            "note": "岗亭无人",
            "video_link": "https://pan.example.com/v/abc",
            "latitude": "31.230416",
            "longitude": "121.473701",
            "photo": SimpleUploadedFile("gate.jpg", gate_jpeg(), content_type="image/jpeg"),
        },
    )
    assert answer.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    assert str(task.latitude) == "31.230416"
    assert task.photo_bytes() == gate_jpeg()
    order = RectificationOrder.objects.get()
    assert order.finding.category == FindingCategory.UNMANNED
    assert order.finding.inspection == task
    with pytest.raises(ValidationError):
        inspections.record(patrol.operator, task, inspections.Visit(ALL_OK))
    with pytest.raises(ValidationError):
        inspections.record(patrol.operator, task, inspections.Visit({"staffed": True}))
    card = scores.card(patrol.operator, town.street, DAY)
    assert min(r.score for r in card.rows) == 100 - 5 * 2  # unmanned, serious
    rows = inspections.coverage(patrol.operator, town.street)
    assert sum(1 for _c, last in rows if last) == 1
    assert len(rows) == 2
    page = client.get("/patrol/inspections/coverage/").content.decode()
    assert "1 / 2" in page or "1" in page
