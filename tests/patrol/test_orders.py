"""Rectification orders: delivered through the notification engine, answered by the community
with a photo, re-checked on video and closed or sent back, escalated when overdue; a worker
sees only their own community's orders."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client

from shouwang.alerts.models import Alert, AlertStatus, Channel, ChannelKind, Subscription
from shouwang.alerts.notify import sender
from shouwang.core.kinds import Severity
from shouwang.core.models import User
from shouwang.patrol.alert_kinds import RECTIFICATION, RECTIFICATION_OVERDUE, check_overdue
from shouwang.patrol.models import FindingCategory, OrderStatus, RectificationOrder
from shouwang.patrol.services import orders, rounds, snapshots
from shouwang.patrol.services.rounds import FindingData
from tests.conftest import Town
from tests.patrol.camera_server import gate_jpeg
from tests.patrol.conftest import Patrol

DAY = date(2026, 3, 2)


def _order(patrol: Patrol, town: Town) -> RectificationOrder:
    plan = rounds.ensure_plan(patrol.operator, town.street)
    round_ = rounds.open_round(patrol.operator, plan, DAY, 0)
    stop = round_.stops.get(checkpoint=patrol.east_gate)
    evidence = snapshots.fetch_now(patrol.operator, patrol.east_camera)
    finding = rounds.record_finding(
        patrol.operator, stop, FindingData(FindingCategory.CROWDING, 2, "门口聚集十余人", evidence)
    )
    assert finding is not None
    return RectificationOrder.objects.get(finding=finding)


class Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[int]:
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    sender.runtime.wait_idle(10)
    sender.runtime.stop()
    server.shutdown()
    server.server_close()


def test_the_order_reaches_the_communitys_channel(
    patrol: Patrol, town: Town, clock: Any, webhook: int
) -> None:
    channel = Channel.objects.create(
        name="东风社区群", kind=ChannelKind.WEBHOOK, target=f"json://127.0.0.1:{webhook}/hook"
    )
    Subscription.objects.create(channel=channel, area=town.east, min_severity=Severity.WARNING)
    order = _order(patrol, town)
    sender.run_due()
    assert len(Hook.received) == 1
    message = json.dumps(Hook.received[0], ensure_ascii=False)
    assert "东门" in message
    assert f"/alerts/{order.alert_id}/" in message


def test_answer_recheck_and_close(patrol: Patrol, town: Town, clock: Any) -> None:
    order = _order(patrol, town)
    with pytest.raises(ValidationError):
        orders.answer(town.east_worker, order, "已整改", b"not an image")
    with pytest.raises(ValidationError):
        orders.answer(town.east_worker, order, "  ", None)
    with pytest.raises(Http404):
        orders.answer(town.west_worker, order, "已整改", None)
    clock.shift(timedelta(hours=2))
    answered = orders.answer(town.east_worker, order, "已劝散，加派一人值守", gate_jpeg("fixed"))
    assert answered.status == OrderStatus.ANSWERED
    assert answered.photo() == gate_jpeg("fixed")
    with pytest.raises(ValidationError):
        orders.answer(town.east_worker, order, "again", None)
    # Closing needs a re-check snapshot taken after the answer.
    with pytest.raises(ValidationError):
        orders.close(patrol.operator, order)
    clock.shift(timedelta(minutes=5))
    taken = orders.recheck(patrol.operator, order, patrol.east_camera)
    assert taken is not None
    closed = orders.close(patrol.operator, order)
    assert closed.status == OrderStatus.CLOSED
    alert = Alert.objects.get(pk=order.alert_id)
    assert alert.status == AlertStatus.RESOLVED
    # The evidence and the re-check are kept whatever the age.
    monkey = snapshots.KEEP_SNAPSHOTS
    try:
        snapshots.KEEP_SNAPSHOTS = 0
        snapshots.prune(patrol.east_camera.pk)
    finally:
        snapshots.KEEP_SNAPSHOTS = monkey
    closed.refresh_from_db()
    assert closed.recheck is not None
    assert closed.finding.evidence is not None


def test_sent_back_then_overdue_escalates_once(patrol: Patrol, town: Town, clock: Any) -> None:
    order = _order(patrol, town)
    orders.answer(town.east_worker, order, "已整改", None)
    with pytest.raises(ValidationError):
        orders.send_back(patrol.operator, order, "")
    back = orders.send_back(patrol.operator, order, "仍有人聚集")
    assert (back.status, back.returns) == (OrderStatus.OPEN, 1)
    assert Alert.objects.get(pk=order.alert_id).occurrences == 2
    assert check_overdue() == []
    clock.shift(timedelta(hours=25))
    raised = check_overdue()
    assert [a.kind for a in raised] == [RECTIFICATION_OVERDUE]
    assert raised[0].area == town.east
    assert check_overdue() == []


def test_a_worker_sees_only_their_communitys_orders(patrol: Patrol, town: Town, clock: Any) -> None:
    order = _order(patrol, town)
    assert list(RectificationOrder.objects.visible_to(town.east_worker)) == [order]
    assert not RectificationOrder.objects.visible_to(town.west_worker).exists()
    assert not RectificationOrder.objects.visible_to(patrol.other_operator).exists()

    def client(user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    east, west, other = (
        client(town.east_worker),
        client(town.west_worker),
        client(patrol.other_operator),
    )
    assert "东门" in east.get("/patrol/orders/").content.decode()
    assert east.get(f"/patrol/orders/{order.pk}/evidence.img").status_code == 200
    assert "东门" not in west.get("/patrol/orders/").content.decode()
    for c in (west, other):
        assert c.get(f"/patrol/orders/{order.pk}/").status_code == 404
        assert c.get(f"/patrol/orders/{order.pk}/evidence.img").status_code == 404
        assert c.post(f"/patrol/orders/{order.pk}/answer/", {"note": "x"}).status_code == 404
    # The worker cannot see the town's cameras, rounds or findings behind the order.
    assert east.get("/patrol/rounds/").status_code == 403
    assert east.get(f"/patrol/snapshots/{order.finding.evidence_id}/image").status_code == 403
    assert RECTIFICATION
