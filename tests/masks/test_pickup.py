"""Pickup codes at the point: a genuine code hands out once; forged, reused, cancelled,
expired and other points' codes are refused with the reason; no-shows go back to stock."""

from __future__ import annotations

import zlib
from datetime import timedelta

import base45  # type: ignore[import-untyped]
import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from shouwang.core.models import AuditLog
from shouwang.masks.models import Reservation, ReservationStatus, Round, RoundPoint
from shouwang.masks.services import pickup
from shouwang.masks.services import reserve as reserving
from shouwang.masks.services.pickup import PickupRefused
from shouwang.masks.tasks import release_no_shows
from shouwang.passes.services import codec
from tests.conftest import Town, login
from tests.masks.conftest import applicant, open_round, stock_at

EAST = "东风社区卫生服务站"
WEST = "向阳大药房"


def _reserve(round_: Round, point: str = EAST, n: int = 1) -> Reservation:
    done = reserving.reserve(round_.pk, stock_at(round_, point).pk, applicant(n), f"key-{n:016d}")
    return done.reservation


def test_the_qr_code_and_the_short_code_hand_out_once(town: Town) -> None:
    round_ = open_round(town, stock=10, per_person=5)
    east = stock_at(round_, EAST)
    first, second = _reserve(round_, n=1), _reserve(round_, n=2)
    found = pickup.find(town.east_worker, east, pickup.qr_code(first))
    assert found.pk == first.pk
    pickup.hand_out(town.east_worker, east, pickup.qr_code(first))
    with pytest.raises(PickupRefused) as again:
        pickup.hand_out(town.east_worker, east, pickup.qr_code(first))
    assert again.value.code == PickupRefused.USED
    assert second.pin is not None
    assert len(second.pin) == 8
    pickup.hand_out(town.east_worker, east, f" {second.pin[:4]} {second.pin[4:]} ")
    statuses = set(Reservation.objects.values_list("status", flat=True))
    assert statuses == {ReservationStatus.PICKED_UP}
    assert AuditLog.objects.filter(action="masks.hand_out", actor=town.east_worker).count() == 2
    assert RoundPoint.objects.get(pk=east.pk).remaining == 0  # handing out takes no more stock


def test_forged_malformed_and_unknown_codes_are_refused(town: Town) -> None:
    round_ = open_round(town)
    east = stock_at(round_, EAST)
    genuine = pickup.qr_code(_reserve(round_))
    raw = bytearray(zlib.decompress(base45.b45decode(genuine[len(pickup.PREFIX) :])))
    raw[-5] ^= 0xFF  # one bit of the signature
    forged = pickup.PREFIX + base45.b45encode(zlib.compress(bytes(raw))).decode()
    cases = {
        forged: PickupRefused.FORGED,
        pickup.PREFIX + "!!!": PickupRefused.MALFORMED,
        "12345": PickupRefused.MALFORMED,
        "00000000": PickupRefused.UNKNOWN,
        "x" * 5000: PickupRefused.MALFORMED,
    }
    for code, reason in cases.items():
        with pytest.raises(PickupRefused) as caught:
            pickup.find(town.east_worker, east, code)
        assert caught.value.code == reason, code[:40]


def test_a_pass_is_not_a_pickup_code_and_a_pickup_code_is_not_a_pass(town: Town) -> None:
    round_ = open_round(town)
    east = stock_at(round_, EAST)
    code = pickup.qr_code(_reserve(round_))
    with pytest.raises(codec.CodeError):
        codec.open_envelope(code)
    with pytest.raises(PickupRefused) as caught:
        pickup.find(town.east_worker, east, "SW1:" + code[len(pickup.PREFIX) :])
    assert caught.value.code == PickupRefused.MALFORMED


def test_another_points_or_a_cancelled_reservation_is_refused(town: Town) -> None:
    round_ = open_round(town)
    mine = _reserve(round_, WEST, n=1)
    with pytest.raises(PickupRefused) as other:
        pickup.find(town.town_operator, stock_at(round_, EAST), pickup.qr_code(mine))
    assert other.value.code == PickupRefused.OTHER_POINT
    token = reserving.link_token(mine.idempotency_key)
    reserving.cancel(token)
    with pytest.raises(PickupRefused) as cancelled:
        pickup.find(town.town_operator, stock_at(round_, WEST), pickup.qr_code(mine))
    assert cancelled.value.code == PickupRefused.CANCELLED


def test_a_worker_checks_codes_only_at_points_in_their_area(town: Town) -> None:
    round_ = open_round(town)
    mine = _reserve(round_, WEST)
    with pytest.raises(PermissionDenied):
        pickup.find(town.east_worker, stock_at(round_, WEST), pickup.qr_code(mine))
    with pytest.raises(PermissionDenied):
        pickup.find(town.gate_guard, stock_at(round_, WEST), pickup.qr_code(mine))
    client = login(town.east_worker)
    assert client.get(f"/masks/points/{stock_at(round_, WEST).pk}/").status_code == 404
    assert client.get(f"/masks/points/{stock_at(round_, EAST).pk}/").status_code == 200


def test_no_shows_go_back_to_stock_after_their_slot_and_their_code_expires(town: Town) -> None:
    round_ = open_round(town, stock=5, per_person=5)
    east = stock_at(round_, EAST)
    mine = _reserve(round_)
    assert RoundPoint.objects.get(pk=east.pk).remaining == 0
    with time_machine.travel(mine.slot_end - timedelta(minutes=1), tick=False):
        assert release_no_shows.call_local() == 0
    with time_machine.travel(mine.slot_end + timedelta(seconds=1), tick=False):
        with pytest.raises(PickupRefused) as late:
            pickup.hand_out(town.east_worker, east, pickup.qr_code(mine))
        assert late.value.code == PickupRefused.EXPIRED
        assert release_no_shows.call_local() == 1
        assert release_no_shows.call_local() == 0  # run twice: released once
    assert RoundPoint.objects.get(pk=east.pk).remaining == 5
    assert Reservation.objects.get().status == ReservationStatus.RELEASED
    assert AuditLog.objects.filter(action="masks.release").count() == 1


def test_the_point_page_checks_then_hands_over(town: Town) -> None:
    round_ = open_round(town, stock=10, per_person=5)
    east = stock_at(round_, EAST)
    mine = _reserve(round_)
    client = login(town.east_worker)
    url = f"/masks/points/{east.pk}/"
    checked = client.post(url, {"code": mine.pin})
    assert checked.status_code == 200
    page = checked.content.decode()
    assert "居*1" in page
    assert "110105********" in page
    assert mine.id_number not in page
    done = client.post(url, {"code": mine.pin, "confirm": "1"})
    assert 'data-testid="done"' in done.content.decode()
    again = client.post(url, {"code": mine.pin, "confirm": "1"})
    assert again.status_code == 409
    assert 'data-code="used"' in again.content.decode()
