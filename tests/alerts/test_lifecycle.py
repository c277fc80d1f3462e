"""Acknowledge, assign, comment, resolve; escalation and reminders from database timers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shouwang.alerts import alert_kinds
from shouwang.alerts.models import Alert, AlertStatus, RuleSetting
from shouwang.alerts.services.alerting import acknowledge, assign, comment, resolve
from shouwang.alerts.timers import escalate_and_remind
from shouwang.core.models import AuditLog
from shouwang.quarantine.models import Watch
from tests.alerts.conftest import T0, Door
from tests.conftest import Town


@pytest.fixture
def alert(quarantine: Watch, door: Door) -> Alert:
    door("open", T0)
    return Alert.objects.get()


def test_full_lifecycle_keeps_who_and_when(town: Town, alert: Alert) -> None:
    acknowledge(town.east_worker, alert)
    comment(town.east_worker, alert, "已电话联系，住户说在倒垃圾")
    resolved = resolve(town.east_worker, alert, "garbage", "倒垃圾，已提醒")
    assert resolved.status == AlertStatus.RESOLVED
    assert (resolved.acknowledged_by, resolved.resolved_by, resolved.assignee) == (
        town.east_worker,
        town.east_worker,
        town.east_worker,
    )
    assert resolved.outcome == "garbage"
    assert [e.kind for e in resolved.entries.all()] == [
        "opened",
        "acknowledged",
        "commented",
        "resolved",
    ]
    assert AuditLog.objects.filter(action__startswith="alert.").count() == 3


def test_second_acknowledge_changes_nothing(town: Town, alert: Alert) -> None:
    first = acknowledge(town.east_worker, alert)
    again = acknowledge(town.town_operator, alert)
    assert again.acknowledged_by == town.east_worker
    assert again.acknowledged_at == first.acknowledged_at


def test_resolve_needs_an_outcome_and_only_once(town: Town, alert: Alert) -> None:
    with pytest.raises(ValidationError):
        resolve(town.east_worker, alert, "", "")
    resolve(town.east_worker, alert, "false_alarm")
    with pytest.raises(ValidationError):
        resolve(town.east_worker, alert, "false_alarm")


def test_other_community_and_other_roles_cannot_touch_it(town: Town, alert: Alert) -> None:
    with pytest.raises(Http404):
        acknowledge(town.west_worker, alert)
    with pytest.raises(PermissionDenied):
        acknowledge(town.gate_guard, alert)
    with pytest.raises(Http404):
        assign(town.east_worker, alert, town.west_worker)  # the assignee must cover the area
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_empty_comment_is_refused(town: Town, alert: Alert) -> None:
    with pytest.raises(ValidationError):
        comment(town.east_worker, alert, "   ")


def test_unacknowledged_alert_escalates_up_the_tree_then_stops(alert: Alert) -> None:
    assert alert.next_escalation_at == T0 + timedelta(minutes=5)
    assert escalate_and_remind(T0 + timedelta(minutes=4)) == 0
    assert escalate_and_remind(T0 + timedelta(minutes=5)) == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    escalate_and_remind(T0 + timedelta(minutes=10))
    alert.refresh_from_db()
    assert alert.escalation_level == 2
    assert alert.next_escalation_at is None  # the district is the top
    kinds = list(alert.entries.values_list("kind", flat=True))
    assert kinds.count("escalated") == 2


def test_reminders_repeat_while_open_and_stop_on_acknowledge(town: Town, alert: Alert) -> None:
    RuleSetting.objects.create(
        kind=alert_kinds.ESCALATION, area=town.east, params={"ack_minutes": 60, "remind_minutes": 3}
    )
    Alert.objects.filter(pk=alert.pk).update(
        next_escalation_at=T0 + timedelta(minutes=60), next_reminder_at=T0 + timedelta(minutes=3)
    )
    assert escalate_and_remind(T0 + timedelta(minutes=3)) == 1
    assert escalate_and_remind(T0 + timedelta(minutes=4)) == 0
    assert escalate_and_remind(T0 + timedelta(minutes=6)) == 1
    acknowledge(town.east_worker, Alert.objects.get())
    assert escalate_and_remind(T0 + timedelta(minutes=30)) == 0
    assert Alert.objects.get().entries.filter(kind="reminded").count() == 2


def test_timers_survive_a_restart(alert: Alert) -> None:
    """Nothing is held in memory: a fresh process (a later call) finds what is due."""
    import importlib

    from shouwang.alerts import timers

    importlib.reload(timers)
    assert timers.escalate_and_remind(T0 + timedelta(hours=1)) == 1
    assert Alert.objects.get().escalation_level == 1


def test_escalation_time_per_area(town: Town, quarantine: Watch, door: Door) -> None:
    RuleSetting.objects.create(
        kind=alert_kinds.ESCALATION, area=town.street, params={"ack_minutes": 2}
    )
    door("open", T0)
    assert Alert.objects.get().next_escalation_at == T0 + timedelta(minutes=2)
