"""First come, first served: what a resident gets, and what they are refused, one at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from shouwang.core.models import AuditLog
from shouwang.masks.models import Reservation, ReservationStatus, RoundPoint
from shouwang.masks.services import reserve as reserving
from shouwang.masks.services.reserve import Applicant, Refused
from tests.conftest import Town
from tests.masks.conftest import applicant, id_number, open_round, stock_at

EAST = "东风社区卫生服务站"
WEST = "向阳大药房"


def test_a_reservation_takes_the_masks_from_the_point_and_stores_the_id_encrypted(
    town: Town,
) -> None:
    round_ = open_round(town, stock=10, per_person=5)
    east = stock_at(round_, EAST)
    done = reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    east.refresh_from_db()
    assert (east.stock, east.remaining) == (10, 5)
    r = Reservation.objects.get()
    assert (r.quantity, r.status, r.masked_name) == (5, ReservationStatus.RESERVED, "居*1")
    assert r.id_number == id_number(1)
    # At rest: ciphertext, not the number, and a blind index, not the number.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, id_index FROM masks_reservation")
        raw = "".join(cursor.fetchone())
    assert id_number(1) not in raw
    assert "13900000001" not in raw
    assert reserving.reservation_for_link(done.token) == r
    entry = AuditLog.objects.get(action="masks.reserve")
    assert entry.area == town.east
    assert id_number(1) not in str(entry.details)


def test_sold_out_is_refused_with_the_reason_and_takes_nothing(town: Town) -> None:
    round_ = open_round(town, stock=5, per_person=5)
    east = stock_at(round_, EAST)
    reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    with pytest.raises(Refused) as caught:
        reserving.reserve(round_.pk, east.pk, applicant(2), "key-0000000000000002")
    assert caught.value.code == Refused.SOLD_OUT
    assert "售完" in caught.value.message or "Sold out" in caught.value.message
    assert RoundPoint.objects.get(pk=east.pk).remaining == 0
    assert Reservation.objects.count() == 1


def test_a_double_tap_reserves_once_and_leads_to_the_same_page(town: Town) -> None:
    round_ = open_round(town, stock=10, per_person=5)
    east = stock_at(round_, EAST)
    first = reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    second = reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    assert second.repeated
    assert second.token == first.token
    assert second.reservation.pk == first.reservation.pk
    assert RoundPoint.objects.get(pk=east.pk).remaining == 5


def test_a_double_tap_after_the_last_unit_still_finds_its_reservation(town: Town) -> None:
    round_ = open_round(town, stock=5, per_person=5)
    east = stock_at(round_, EAST)
    first = reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    again = reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    assert again.reservation.pk == first.reservation.pk


def test_a_form_key_reused_for_another_id_is_refused(town: Town) -> None:
    round_ = open_round(town)
    east = stock_at(round_, EAST)
    reserving.reserve(round_.pk, east.pk, applicant(1), "key-0000000000000001")
    with pytest.raises(Refused) as caught:
        reserving.reserve(round_.pk, east.pk, applicant(2), "key-0000000000000001")
    assert caught.value.code == Refused.KEY_REUSED
    assert Reservation.objects.count() == 1
    assert stock_at(round_, EAST).remaining == 49


def test_one_id_once_per_period_across_points_and_rounds(town: Town) -> None:
    round_ = open_round(town, limit_days=7)
    reserving.reserve(round_.pk, stock_at(round_, EAST).pk, applicant(1), "key-000000000000000a")
    # Another point of the same round: refused, with the day of the first reservation.
    with pytest.raises(Refused) as caught:
        reserving.reserve(
            round_.pk, stock_at(round_, WEST).pk, applicant(1), "key-000000000000000b"
        )
    assert caught.value.code == Refused.LIMIT
    assert timezone.localdate().isoformat() in caught.value.message
    # Same person written differently (lower-case x, full-width digits): still the same ID.
    same = Applicant.clean("王五", "１１０１０５" + id_number(1)[6:].lower(), "13800000000")
    with pytest.raises(Refused):
        reserving.reserve(round_.pk, stock_at(round_, WEST).pk, same, "key-000000000000000c")
    assert stock_at(round_, WEST).remaining == 50
    assert Reservation.objects.count() == 1


def test_the_limit_spans_rounds_and_ends_after_its_days(town: Town) -> None:
    start = timezone.now()
    first = open_round(town, limit_days=7)
    reserving.reserve(first.pk, stock_at(first, EAST).pk, applicant(1), "key-000000000000000a")
    with time_machine.travel(start + timedelta(days=3), tick=False):
        second = open_round(town, limit_days=7)
        with pytest.raises(Refused) as caught:
            reserving.reserve(
                second.pk, stock_at(second, WEST).pk, applicant(1), "key-000000000000000b"
            )
        assert caught.value.code == Refused.LIMIT
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        third = open_round(town, limit_days=7)
        done = reserving.reserve(
            third.pk, stock_at(third, WEST).pk, applicant(1), "key-000000000000000c"
        )
        assert not done.repeated


def test_cancelling_returns_the_stock_and_the_allowance_once(town: Town) -> None:
    round_ = open_round(town, stock=5, per_person=5)
    east = stock_at(round_, EAST)
    done = reserving.reserve(round_.pk, east.pk, applicant(1), "key-000000000000000a")
    reserving.cancel(done.token)
    reserving.cancel(done.token)  # a second tap changes nothing
    assert RoundPoint.objects.get(pk=east.pk).remaining == 5
    assert Reservation.objects.get().status == ReservationStatus.CANCELLED
    assert AuditLog.objects.filter(action="masks.cancel").count() == 1
    # The same person may reserve again, and someone else can take the returned masks.
    reserving.reserve(round_.pk, east.pk, applicant(1), "key-000000000000000b")
    assert RoundPoint.objects.get(pk=east.pk).remaining == 0
    assert reserving.cancel("not-a-token") is None


def test_outside_the_window_is_refused(town: Town) -> None:
    round_ = open_round(town)
    east = stock_at(round_, EAST)
    before = round_.opens_at - timedelta(minutes=1)
    with time_machine.travel(before, tick=False), pytest.raises(Refused) as early:
        reserving.reserve(round_.pk, east.pk, applicant(1), "key-000000000000000a")
    with time_machine.travel(round_.closes_at, tick=False), pytest.raises(Refused) as late:
        reserving.reserve(round_.pk, east.pk, applicant(1), "key-000000000000000b")
    assert (early.value.code, late.value.code) == (Refused.NOT_OPEN, Refused.CLOSED)
    assert Reservation.objects.count() == 0


def test_a_point_of_another_round_or_a_bad_key_is_refused(town: Town) -> None:
    round_ = open_round(town)
    with pytest.raises(Refused):
        reserving.reserve(round_.pk + 1, stock_at(round_, EAST).pk, applicant(1), "k" * 20)
    with pytest.raises(ValidationError):
        reserving.reserve(round_.pk, stock_at(round_, EAST).pk, applicant(1), "short")
    with pytest.raises(ValidationError):
        reserving.reserve(round_.pk, stock_at(round_, EAST).pk, applicant(1), "bad key; drop" * 2)


@pytest.mark.parametrize(
    ("name", "number", "phone", "fields"),
    [
        ("", "110105198001011234", "13900000000", {"name", "id_number"}),
        ("张三", "11010519800101123X", "139", {"id_number", "phone"}),
        ("张三", "", "", {"id_number", "phone"}),
    ],
)
def test_bad_input_names_each_field(name: str, number: str, phone: str, fields: set[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant.clean(name, number, phone)
    assert set(caught.value.error_dict) == fields
