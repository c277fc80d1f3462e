"""The ingest path writes its rows by hand (for speed): they must be exactly what the ORM would
write, the ids handed to the alert rules must be the stored rows', and batches from many
threads must all land, each whole or not at all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection

from shouwang.core.sqlite import writer
from shouwang.devices.adapters import Reading
from shouwang.devices.models import Device, DeviceEvent
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def reading(key: str, minute: int, message_id: str | None, **fields: Any) -> Incoming:
    return Incoming(
        Reading(
            adapter="generic",
            device_key=key,
            event_time=T0 + timedelta(minutes=minute),
            dedup_key=message_id,
            raw={"device": key, "说明": "门磁", "minute": minute, **fields},
            **fields,
        ),
        T0 + timedelta(minutes=minute, seconds=1, microseconds=123),
    )


def columns(table: str, pk: int) -> dict[str, Any]:
    """A row as the database holds it: on SQLite the very text of every column (datetimes
    and JSON are text there), on PostgreSQL the typed values."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        names = [c[0] for c in cursor.description]
        if connection.vendor == "sqlite":
            text = ", ".join(f"quote({name})" for name in names)
            cursor.execute(f"SELECT {text} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_event_rows_are_what_the_orm_would_write(db: None) -> None:
    result = ingest(
        [
            reading("d1", 0, "a", door="open", battery_percent=87, tamper=False, signal=-70),
            reading("d1", 1, None, door="closed", battery_mv=3000, battery_low=True),
        ],
        "http",
    )
    assert result.stored == 2
    assert list(DeviceEvent.objects.order_by("id").values_list("dedup_key", flat=True)) == [
        "a",
        None,
    ]
    for event in DeviceEvent.objects.order_by("id"):
        by_hand = columns("devices_deviceevent", event.pk)
        event.pk, event.dedup_key = None, None
        event.save()  # the same values, written by the ORM (without the unique message id)
        by_orm = columns("devices_deviceevent", event.pk)
        assert {**by_hand, "id": 0, "dedup_key": ""} == {**by_orm, "id": 0, "dedup_key": ""}


def test_device_state_is_what_the_orm_would_write(db: None) -> None:
    ingest([reading("d1", 0, "a", door="open", battery_percent=10, tamper=True)], "mqtt")
    device = Device.objects.get(key="d1")
    by_hand = columns("devices_device", device.pk)
    device.save()
    assert columns("devices_device", device.pk) == by_hand
    assert (device.door, device.battery_low, device.tamper) == ("open", True, True)
    assert device.state_at == T0


def test_the_rules_get_the_ids_of_the_stored_events(db: None) -> None:
    first = ingest([reading("d1", i, f"m{i}", door="open") for i in range(5)], "http")
    assert [DeviceEvent.objects.get(pk=e.pk).dedup_key for e in first.events] == [
        f"m{i}" for i in range(5)
    ]
    # The newest rows deleted (a retention purge, an operator): ids are never reused, and
    # the next batch's events still get their own.
    DeviceEvent.objects.filter(dedup_key__in=["m3", "m4"]).delete()
    second = ingest([reading("d2", i, f"n{i}", door="closed") for i in range(3)], "http")
    stored = {e.pk: e.dedup_key for e in DeviceEvent.objects.filter(device__key="d2")}
    assert {e.pk: e.dedup_key for e in second.events} == stored
    assert min(stored) > max(e.pk for e in first.events)


@pytest.fixture
def writer_thread(monkeypatch: pytest.MonkeyPatch, transactional_db: None) -> Iterator[None]:
    """Batches go to the SQLite writer thread, as in `shouwang serve` (tests use an
    in-memory database, which otherwise keeps them on the caller's thread)."""
    if connection.vendor != "sqlite":
        pytest.skip("the writer thread is for SQLite")
    monkeypatch.setattr(writer, "applies", lambda: True)
    yield
    writer.close()


def test_batches_from_many_threads_are_all_stored(writer_thread: None) -> None:
    results: list[IngestResult] = []

    def push(client: int) -> None:
        batch = [reading(f"d{i % 3}", client * 10 + i, f"c{client}-{i}") for i in range(10)]
        results.append(ingest(batch, "http"))
        connection.close()

    threads = [threading.Thread(target=push, args=(client,)) for client in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.stored for r in results) == [10, 10, 10, 10]
    assert DeviceEvent.objects.count() == 40
    # Whatever order the batches ran in, each device ends in its newest state.
    newest = {f"d{i % 3}": T0 + timedelta(minutes=30 + i) for i in range(10)}
    assert {d.key: d.state_at for d in Device.objects.all()} == newest


def test_a_refused_batch_leaves_nothing_and_the_next_one_is_stored(writer_thread: None) -> None:
    ingest([reading("d1", 0, "a", door="open")], "http")
    # A battery the column cannot hold: the database refuses the whole batch.
    with pytest.raises(IntegrityError):
        ingest(
            [reading("d1", 1, "b", door="closed"), reading("d1", 2, "c", battery_percent=-5)],
            "http",
        )
    assert list(DeviceEvent.objects.values_list("dedup_key", flat=True)) == ["a"]
    assert Device.objects.get(key="d1").door == "open"
    assert ingest([reading("d1", 3, "d", door="closed")], "http").stored == 1
    assert Device.objects.get(key="d1").door == "closed"
