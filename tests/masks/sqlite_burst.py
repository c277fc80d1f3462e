"""Run by tests/masks/test_burst.py in a child process: the burst on a SQLite *file* (the
embedded shape, with its one writer thread), which the suite's in-memory database cannot show.

    python -m tests.masks.sqlite_burst <file> <attempts> <stock>   → one JSON object
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    path, attempts, stock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ["SHOUWANG_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from shouwang.core.models import AreaKind
    from shouwang.core.services.areas import create_area
    from shouwang.masks.models import Reservation, RoundPoint
    from tests.masks.conftest import applicant, open_round_in, stock_at
    from tests.masks.test_burst import burst

    street = create_area(None, None, "守望街道", AreaKind.STREET)
    round_ = open_round_in(street, stock=stock)
    east = stock_at(round_, "东风社区卫生服务站")
    outcomes = burst(
        [(applicant(n), f"burst-key-{n:010d}", round_.pk, east.pk) for n in range(attempts)]
    )
    person = applicant(10_000)
    west = stock_at(round_, "向阳大药房")
    taps = burst([(person, "tap-key-0000000001", round_.pk, west.pk)] * 8)
    print(
        json.dumps(
            {
                "outcomes": dict(outcomes),
                "taps": dict(taps),
                "remaining": RoundPoint.objects.get(pk=east.pk).remaining,
                "west_remaining": RoundPoint.objects.get(pk=west.pk).remaining,
                "reservations": Reservation.objects.count(),
                "distinct_ids": Reservation.objects.values("id_index").distinct().count(),
            }
        )
    )


if __name__ == "__main__":
    main()
