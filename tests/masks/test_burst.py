"""Many residents at once on the last masks: never more reservations than stock, never two for
one ID number, never an error. Real threads on the real database, no mocks: each thread has its
own connection, and they start together at a barrier."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from shouwang.masks.models import Reservation, ReservationStatus, RoundPoint
from shouwang.masks.services import reserve as reserving
from shouwang.masks.services.reserve import Applicant, Refused
from tests.conftest import Town
from tests.masks.conftest import applicant, open_round, stock_at

# PostgreSQL allows 100 connections, shared with other test runs: 40 at once is plenty to
# pile every request onto the same row.
THREADS = 40

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="in-process threads need a server database; SQLite: test_sqlite_file_burst",
)


def burst(attempts: list[tuple[Applicant, str, int, int]]) -> Counter[str]:
    """Fires every attempt (applicant, form key, round, stock) from THREADS threads at once."""
    barrier = threading.Barrier(min(THREADS, len(attempts)))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def one(attempt: tuple[Applicant, str, int, int]) -> None:
        person, key, round_pk, stock_pk = attempt
        try:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=10)
            done = reserving.reserve(round_pk, stock_pk, person, key)
            result = "repeated" if done.repeated else "reserved"
        except Refused as exc:
            result = exc.code
        except Exception as exc:
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes[result] += 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, attempts))
    return outcomes


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_200_residents_on_50_masks_get_exactly_50_and_a_clear_sold_out(town: Town) -> None:
    round_ = open_round(town, stock=50, per_person=1)
    east = stock_at(round_, "东风社区卫生服务站")
    attempts = [(applicant(n), f"burst-key-{n:010d}", round_.pk, east.pk) for n in range(200)]
    outcomes = burst(attempts)
    assert outcomes == Counter({"reserved": 50, "sold_out": 150})
    assert RoundPoint.objects.get(pk=east.pk).remaining == 0
    assert Reservation.objects.filter(status=ReservationStatus.RESERVED).count() == 50
    assert len(set(Reservation.objects.values_list("id_index", flat=True))) == 50


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_one_id_tapping_at_every_point_at_once_reserves_once(town: Town) -> None:
    round_ = open_round(town, stock=50, per_person=1)
    points = [stock_at(round_, "东风社区卫生服务站").pk, stock_at(round_, "向阳大药房").pk]
    person = applicant(7)
    # 40 different forms (keys) from one ID number, half at each point, plus others' requests.
    mine = [(person, f"mine-key-{n:010d}", round_.pk, points[n % 2]) for n in range(40)]
    others = [(applicant(100 + n), f"other-key-{n:09d}", round_.pk, points[0]) for n in range(20)]
    outcomes = burst(mine + others)
    assert outcomes == Counter({"reserved": 21, "limit": 39})
    mine_stored = Reservation.objects.filter(id_index=reserving.id_index(person.id_number))
    assert mine_stored.count() == 1
    left = sum(RoundPoint.objects.filter(pk__in=points).values_list("remaining", flat=True))
    assert left == 100 - 21


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_double_tap_at_the_same_moment_reserves_once(town: Town) -> None:
    round_ = open_round(town, stock=50, per_person=1)
    east = stock_at(round_, "东风社区卫生服务站").pk
    taps: list[tuple[Applicant, str, int, int]] = []
    for n in range(10):  # ten people, each tapping four times with one form
        taps += [(applicant(n), f"tap-key-{n:011d}", round_.pk, east)] * 4
    outcomes = burst(taps)
    assert outcomes == Counter({"reserved": 10, "repeated": 30})
    assert Reservation.objects.count() == 10
    assert RoundPoint.objects.get(pk=east).remaining == 40


def test_sqlite_file_burst_in_a_child_process(tmp_path: Path) -> None:
    """The embedded shape: a SQLite file, its writer thread, 40 request threads at once."""
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.masks.sqlite_burst",
            str(tmp_path / "burst.sqlite3"),
            "200",
            "50",
        ],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["outcomes"] == {"reserved": 50, "sold_out": 150}
    assert result["taps"] == {"reserved": 1, "repeated": 7}  # one form tapped 8 times at once
    assert (result["remaining"], result["west_remaining"]) == (0, 49)
    assert (result["reservations"], result["distinct_ids"]) == (51, 51)
