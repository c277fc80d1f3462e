"""A quarantined household with an installed sensor, and a way to open its door."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shouwang.devices.adapters import Reading
from shouwang.devices.models import Device
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest
from shouwang.devices.services.lifecycle import install_device, register_device
from shouwang.quarantine.models import Watch, WatchKind
from tests.conftest import Town

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

Door = Callable[..., IngestResult]


@pytest.fixture
def sensor(town: Town) -> Device:
    device = register_device(None, "generic", "door-501", town.east, model="MCCGQ11LM")
    return install_device(None, device, town.east_home)


@pytest.fixture
def quarantine(town: Town) -> Watch:
    return Watch.objects.create(
        kind=WatchKind.QUARANTINE,
        household=town.east_home,
        person=town.east_person,
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=13),
    )


@pytest.fixture
def door(sensor: Device) -> Door:
    counter = iter(range(1, 10_000))

    def _door(state: str, at: datetime, key: str | None = None, **fields: object) -> IngestResult:
        reading = Reading(
            adapter="generic",
            device_key=key or sensor.key,
            event_time=at,
            door=state,
            dedup_key=f"m{next(counter)}",
            raw={"door": state},
            **fields,
        )  # type: ignore[arg-type]
        return ingest([Incoming(reading, at)], "http")

    return _door
