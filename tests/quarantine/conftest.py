"""A sensor in the east community's stock, a way to open a door, and a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from shouwang.devices.adapters import Reading
from shouwang.devices.models import Device
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest
from shouwang.devices.services.lifecycle import register_device
from shouwang.quarantine.models import Case, Source
from shouwang.quarantine.services.cases import CaseData, start_case
from tests.conftest import Town

# Monday 2 March 2026, 09:00 in Shanghai.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

Door = Callable[..., IngestResult]


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def stock_sensor(town: Town) -> Device:
    return register_device(None, "generic", "door-q1", town.east, model="MCCGQ11LM")


@pytest.fixture
def case(town: Town, stock_sensor: Device, clock: time_machine.Coordinates) -> Case:
    return start_case(
        town.east_worker,
        town.east_home,
        CaseData(
            people=[town.east_person],
            source=Source.CLOSE_CONTACT,
            reason="密接",
            device=stock_sensor,
        ),
    )


@pytest.fixture
def door() -> Door:
    counter = iter(range(1, 10_000))

    def _door(key: str, state: str, at: datetime) -> IngestResult:
        reading = Reading(
            adapter="generic",
            device_key=key,
            event_time=at,
            door=state,
            dedup_key=f"m{next(counter)}",
            raw={"door": state},
        )
        return ingest([Incoming(reading, at)], "http")

    return _door
