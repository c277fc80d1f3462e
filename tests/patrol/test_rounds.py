"""Rounds: the plan's windows, the work list, OK and findings, coverage, rounds finished late
or not at all, and bad input."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from shouwang.alerts.models import Alert
from shouwang.patrol.alert_kinds import RECTIFICATION
from shouwang.patrol.models import (
    Finding,
    FindingCategory,
    FindingSeverity,
    OrderStatus,
    RoundState,
    StopResult,
)
from shouwang.patrol.services import rounds, snapshots
from shouwang.patrol.services.rounds import FindingData
from tests.conftest import Town
from tests.patrol.conftest import Patrol

DAY = date(2026, 3, 2)


def test_the_default_plan_has_three_windows_and_a_round_walks_the_towns_cameras(
    patrol: Patrol, town: Town, clock: Any
) -> None:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    assert plan.windows == [["08:00", "10:00"], ["13:00", "15:00"], ["19:00", "21:00"]]
    assert rounds.current_window(plan) == 0
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    assert [s.checkpoint.name for s in round_.stops.order_by("position")] == ["东门", "南门"]
    assert (round_.checked, round_.total) == (0, 2)
    assert round_.state() == RoundState.IN_PROGRESS
    # Opening it again (a second operator, a double click) is the same round.
    assert rounds.open_round(patrol.operator, plan, DAY, 0).pk == round_.pk


def test_ok_and_a_finding_complete_the_round_and_the_finding_becomes_an_order(
    patrol: Patrol, town: Town, clock: Any
) -> None:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    first, second = round_.stops.order_by("position")
    assert rounds.mark_ok(patrol.operator, first)
    assert not rounds.mark_ok(patrol.operator, first)  # a double key press
    round_.refresh_from_db()
    assert (round_.checked, round_.total, round_.finished_at) == (1, 2, None)
    evidence = snapshots.fetch_now(patrol.operator, patrol.west_camera)
    finding = rounds.record_finding(
        patrol.operator,
        second,
        FindingData(FindingCategory.UNMANNED, FindingSeverity.SERIOUS, "岗亭无人", evidence),
    )
    assert finding is not None
    assert finding.evidence == evidence
    assert (
        rounds.record_finding(
            patrol.operator, second, FindingData(FindingCategory.OTHER, 1, "again")
        )
        is None
    )
    round_.refresh_from_db()
    assert round_.checked == 2
    assert round_.state() == RoundState.DONE
    second.refresh_from_db()
    assert second.result == StopResult.FINDING
    order = finding.order
    assert order.community == town.west
    assert order.status == OrderStatus.OPEN
    assert order.deadline - order.issued_at == timedelta(hours=24)
    alert = Alert.objects.get(pk=order.alert_id)
    assert (alert.kind, alert.area, alert.subject) == (
        RECTIFICATION,
        town.west,
        f"rectification:{order.pk}",
    )
    assert "南门" in alert.title
    assert "门岗无人" in alert.title


def test_a_round_not_finished_in_its_window_says_so(patrol: Patrol, town: Town, clock: Any) -> None:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    clock.shift(timedelta(hours=2))  # 10:30
    assert round_.state() == RoundState.UNFINISHED
    for stop in round_.stops.all():
        rounds.mark_ok(patrol.operator, stop)
    round_.refresh_from_db()
    assert round_.state() == RoundState.LATE


def test_bad_findings_and_windows_are_refused(patrol: Patrol, town: Town, clock: Any) -> None:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    stop = round_.stops.get(checkpoint=patrol.east_gate)
    elsewhere = snapshots.fetch_now(patrol.operator, patrol.west_camera)
    for data in (
        FindingData("sleeping", 1),
        FindingData(FindingCategory.CROWDING, 7),
        FindingData(FindingCategory.OTHER, 1, "   "),
        FindingData(FindingCategory.CROWDING, 1, "", elsewhere),
    ):
        with pytest.raises(ValidationError):
            rounds.record_finding(patrol.operator, stop, data)
    stop.refresh_from_db()
    assert stop.result == StopResult.PENDING
    assert not Finding.objects.exists()
    for windows in (
        [["08:00", "10:00"], ["09:00", "11:00"]],
        [["25:00", "26:00"]],
        [["10:00", "08:00"]],
        [],
        [["08:00"]],
    ):
        with pytest.raises(ValidationError):
            rounds.ensure_plan(patrol.operator, town.street, windows)
    with pytest.raises(Http404):
        rounds.open_round(patrol.operator, plan, DAY, 3)


def test_another_towns_operator_cannot_open_or_walk_the_round(
    patrol: Patrol, town: Town, clock: Any
) -> None:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    with pytest.raises(Http404):
        rounds.open_round(patrol.other_operator, plan, DAY, 1)
    with pytest.raises(Http404):
        rounds.mark_ok(patrol.other_operator, round_.stops.first())  # type: ignore[arg-type]
