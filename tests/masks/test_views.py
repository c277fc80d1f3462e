"""The resident's page (no account, Chinese first) and the staff's counts per point."""

from __future__ import annotations

import re
from typing import Any

import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from shouwang.masks.models import Reservation, ReservationStatus
from shouwang.masks.services.limits import Limits
from tests.conftest import Town, login
from tests.masks.conftest import id_number, open_round, stock_at

EAST = "东风社区卫生服务站"


def _form(client: Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    key = re.search(r'name="key" value="([^"]+)"', page.content.decode())
    assert key is not None
    return key.group(1)


def _post(client: Client, url: str, key: str, stock: int, n: int = 1, **extra: str):  # type: ignore[no-untyped-def]
    data = {
        "name": "张三明",
        "id_number": id_number(n),
        "phone": "138 1234 5678",
        "stock": str(stock),
        "key": key,
    } | extra
    return client.post(url, data)


def test_a_resident_reserves_without_an_account_and_a_double_tap_lands_on_the_same_page(
    town: Town,
) -> None:
    round_ = open_round(town, stock=10, per_person=5)
    url = f"/masks/{round_.pk}/"
    client = Client()
    key = _form(client, url)
    page = client.get(url).content.decode()
    assert "预约" in page
    assert "身份证号" in page
    first = _post(client, url, key, stock_at(round_, EAST).pk)
    second = _post(client, url, key, stock_at(round_, EAST).pk)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert id_number(1) not in first["Location"]  # nothing personal in the URL
    mine = client.get(first["Location"])
    text = mine.content.decode()
    assert "张*明" in text
    assert "138****5678" in text
    assert EAST in text
    assert "张三明" not in text
    assert "13812345678" not in text
    assert "no-store" in mine["Cache-Control"]
    assert Reservation.objects.count() == 1
    cancelled = client.post(first["Location"] + "cancel/")
    assert cancelled.status_code == 302
    assert Reservation.objects.get().status == ReservationStatus.CANCELLED
    assert stock_at(round_, EAST).remaining == 10
    assert "已取消" in client.get(first["Location"]).content.decode()


def test_sold_out_and_second_reservation_are_refused_with_the_reason(town: Town) -> None:
    round_ = open_round(town, stock=5, per_person=5)
    url = f"/masks/{round_.pk}/"
    client = Client()
    _post(client, url, _form(client, url), stock_at(round_, EAST).pk, n=1)
    sold_out = _post(client, url, _form(client, url), stock_at(round_, EAST).pk, n=2)
    assert sold_out.status_code == 409
    assert 'data-code="sold_out"' in sold_out.content.decode()
    assert "售完" in sold_out.content.decode()
    west = stock_at(round_, "向阳大药房").pk
    again = _post(client, url, _form(client, url), west, n=1)
    assert again.status_code == 409
    assert 'data-code="limit"' in again.content.decode()


def test_bad_input_is_shown_per_field_and_reserves_nothing(town: Town) -> None:
    round_ = open_round(town)
    url = f"/masks/{round_.pk}/"
    client = Client()
    key = _form(client, url)
    bad = _post(client, url, key, stock_at(round_, EAST).pk, id_number="110105198001011235")
    assert bad.status_code == 422
    assert "校验" in bad.content.decode() or "check" in bad.content.decode()
    forged = _post(client, url, key, 999999)
    assert forged.status_code == 422
    assert _post(client, "/masks/999999/", key, 1).status_code == 404
    assert Client().get("/masks/r/not-a-token/").status_code == 404
    assert Reservation.objects.count() == 0


def test_staff_see_the_counts_of_their_own_points_only(town: Town) -> None:
    round_ = open_round(town, stock=7)
    east_page = login(town.east_worker).get("/masks/rounds/").content.decode()
    assert EAST in east_page
    assert "向阳大药房" not in east_page
    town_page = login(town.town_operator).get("/masks/rounds/").content.decode()
    assert EAST in town_page
    assert "向阳大药房" in town_page
    assert login(town.gate_guard).get("/masks/rounds/").status_code == 403
    assert Client().get("/masks/rounds/").status_code == 302  # staff page: log in first
    assert round_.name in town_page


def test_too_many_attempts_from_one_address_or_one_id_are_refused_at_once(
    town: Town, settings: Any
) -> None:
    settings.MASKS_RATE_LIMITS = Limits(per_ip=5, per_id=2, window=60)
    cache.clear()
    round_ = open_round(town, stock=50)
    url = f"/masks/{round_.pk}/"
    east = stock_at(round_, EAST).pk
    # One fixed moment: the whole test falls in one counting window.
    with time_machine.travel(timezone.now(), tick=False):
        client = Client(REMOTE_ADDR="10.0.0.1")
        codes = [_post(client, url, f"rate-key-{n:010d}", east, n=9).status_code for n in range(3)]
        assert codes == [302, 409, 429]  # reserved, over the per-ID limit, over the rate
        other = [
            _post(client, url, f"rate-key-x{n:09d}", east, n=20 + n).status_code for n in range(3)
        ]
        assert other[-1] == 429  # the address's sixth attempt
        assert "稍等" in _post(client, url, "rate-key-y000000001", east, n=40).content.decode()
        elsewhere = _post(Client(REMOTE_ADDR="10.0.0.2"), url, "rate-key-z000000001", east, n=41)
        assert elsewhere.status_code == 302
    cache.clear()
