"""MQTT messages without a message id (Zigbee2MQTT without last_seen, generic without "id"):
a broker's redelivery (DUP flag, same packet id) of a stored message is dropped, a genuine
repeat of the same content is stored, and the window survives a restart because it is in the
database with the events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shouwang.devices.adapters import get_adapter
from shouwang.devices.models import Device, DeviceEvent
from shouwang.devices.services.ingest import Incoming, IngestResult, ingest, redelivery

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

# Every MQTT adapter whose messages may carry no message id, with a topic and a payload maker.
KEYLESS = {
    "zigbee2mqtt": ("zigbee2mqtt/front", lambda door: {"contact": door == "closed", "battery": 90}),
    "generic": ("shouwang/generic/front", lambda door: {"door": door}),
}


def delivery(adapter: str, door: str, mid: int, dup: bool = False, second: int = 0) -> Incoming:
    topic, payload = KEYLESS[adapter]
    (reading,) = get_adapter(adapter).decode_mqtt(  # type: ignore[attr-defined]
        topic, json.dumps(payload(door)).encode()
    )
    assert reading.dedup_key is None
    return Incoming(reading, T0 + timedelta(seconds=second), mid, dup)


def stored(adapter: str) -> list[str]:
    return list(
        DeviceEvent.objects.filter(device__adapter=adapter)
        .order_by("id")
        .values_list("door", flat=True)
    )


def run(*items: Incoming) -> IngestResult:
    return ingest(list(items), "mqtt")


pytestmark = pytest.mark.parametrize("adapter", sorted(KEYLESS))


def test_identical_messages_without_dup_are_genuine_new_states(db: None, adapter: str) -> None:
    run(delivery(adapter, "open", 1))
    run(delivery(adapter, "open", 2, second=5))
    run(delivery(adapter, "open", 3, second=9), delivery(adapter, "open", 4, second=9))
    assert stored(adapter) == ["open"] * 4


def test_redelivery_of_a_stored_batch_is_dropped(db: None, adapter: str) -> None:
    batch = [
        delivery(adapter, "open", 10),
        delivery(adapter, "closed", 11, second=1),
        delivery(adapter, "open", 12, second=2),
    ]
    assert run(*batch).stored == 3
    # Committed, not acknowledged: the broker sends the batch again with DUP set.
    again = run(
        *(
            Incoming(i.reading, i.received_at + timedelta(minutes=3), i.delivery, True)
            for i in batch
        )
    )
    assert (again.stored, again.duplicates) == (0, 3)
    assert stored(adapter) == ["open", "closed", "open"]
    assert Device.objects.get(adapter=adapter).door == "open"


def test_a_dup_message_that_was_never_stored_is_stored(db: None, adapter: str) -> None:
    # Open (10), closed (11) stored; open (12) was in flight when the bridge died before its
    # commit. Its redelivery has the same content as 10 but is another message.
    run(delivery(adapter, "open", 10), delivery(adapter, "closed", 11, second=1))
    result = run(delivery(adapter, "open", 12, dup=True, second=60))
    assert (result.stored, result.duplicates) == (1, 0)
    assert stored(adapter) == ["open", "closed", "open"]


def test_the_window_is_bounded_by_count_and_time(db: None, adapter: str) -> None:
    run(delivery(adapter, "open", 1))
    # Pushed out by WINDOW_ENTRIES later deliveries: a very late redelivery of 1 is stored.
    for n in range(redelivery.WINDOW_ENTRIES):
        run(delivery(adapter, "closed" if n % 2 else "open", 100 + n, second=1 + n))
    window = Device.objects.get(adapter=adapter).recent_deliveries
    assert len(redelivery.entries(window)) == redelivery.WINDOW_ENTRIES
    assert run(delivery(adapter, "open", 1, dup=True, second=100)).stored == 1
    # And by time: beyond WINDOW_TIME an entry no longer counts, and is pruned.
    late = T0 + redelivery.WINDOW_TIME + timedelta(minutes=5)
    last = delivery(adapter, "closed", 100 + redelivery.WINDOW_ENTRIES - 1)
    result = run(Incoming(last.reading, late, last.delivery, True))
    assert result.stored == 1
    window = Device.objects.get(adapter=adapter).recent_deliveries
    assert len(redelivery.entries(window)) == 1


def test_http_keeps_its_retry_rule(db: None, adapter: str) -> None:
    # No DUP flag over HTTP: identical to the last message within minutes is a retry.
    first = delivery(adapter, "open", 1)
    http = Incoming(first.reading, first.received_at)
    assert ingest([http], "http").stored == 1
    assert ingest([Incoming(first.reading, T0 + timedelta(minutes=1))], "http").duplicates == 1
