"""The range of days and times Shouwang accepts from anyone: forms, the API, gate uploads.

Beyond these a value is an error (a gate whose clock reset, a typo, a probe), and near the edges
of Python's and the databases' ranges it used to overflow when turned into a local midnight or
the next day (a 500). Nothing in Shouwang happened before 2000 or is planned after 2099.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
FIRST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
LAST_MOMENT = datetime(2099, 12, 31, tzinfo=UTC)


def in_range(moment: datetime) -> bool:
    return FIRST_MOMENT <= moment <= LAST_MOMENT
