"""Ingestion: stored once, never backwards, nothing lost, health noticed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shouwang.devices.adapters import get_adapter
from shouwang.devices.models import (
    DeadLetter,
    Device,
    DeviceEvent,
    DeviceKind,
    DeviceStatus,
    HealthEvent,
)
from shouwang.devices.services.ingest import Incoming, ingest, mark_offline
from shouwang.devices.services.keys import create_ingest_key
from tests.conftest import Town
from tests.devices.conftest import Push

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def msg(device: str, minute: int, **fields: object) -> dict[str, object]:
    return {"device": device, "time": (T0 + timedelta(minutes=minute)).isoformat(), **fields}


def test_batch_is_stored_and_state_follows(push: Push) -> None:
    response = push(
        [
            msg("d1", 0, door="open", id="a"),
            msg("d1", 1, door="closed", id="b"),
            msg("d2", 0, battery=90, id="c"),
        ]
    )
    assert response.status_code == 200
    assert response.json()["stored"] == 3
    d1 = Device.objects.get(key="d1")
    assert (d1.door, d1.door_changed_at, d1.status) == (
        "closed",
        T0 + timedelta(minutes=1),
        DeviceStatus.UNCLAIMED,
    )
    assert Device.objects.get(key="d2").battery_percent == 90
    assert DeviceEvent.objects.count() == 3


def test_repeated_push_is_stored_once(push: Push) -> None:
    batch = [msg("d1", 0, door="open", id="a"), msg("d1", 1, door="closed", id="b")]
    push(batch)
    again = push(batch).json()
    assert (again["stored"], again["duplicates"]) == (0, 2)
    assert DeviceEvent.objects.count() == 2


def test_duplicates_inside_one_batch_are_dropped(push: Push) -> None:
    same = msg("d1", 0, door="open", id="a")
    assert push([same, same]).json() == {
        "stored": 1,
        "duplicates": 1,
        "stale": 0,
        "new_devices": 1,
        "health_events": 0,
        "refused": 0,
    }


def test_old_event_is_stored_but_does_not_flip_state_back(push: Push) -> None:
    push([msg("d1", 10, door="closed", id="new")])
    result = push([msg("d1", 5, door="open", id="old")]).json()
    assert result["stale"] == 1
    device = Device.objects.get(key="d1")
    assert device.door == "closed"
    assert DeviceEvent.objects.get(dedup_key="old").stale is True


def test_shuffled_batch_ends_in_the_newest_state(push: Push) -> None:
    push([msg("d1", 3, door="closed", id="3"), msg("d1", 1, door="open", id="1")])
    assert Device.objects.get(key="d1").door == "closed"
    assert DeviceEvent.objects.filter(stale=True).count() == 0


def test_zigbee2mqtt_redelivery_without_message_id_is_dropped(db: None) -> None:
    z2m = get_adapter("zigbee2mqtt")
    opened = z2m.decode_mqtt("zigbee2mqtt/3-501", b'{"contact":false,"battery":90}')  # type: ignore[attr-defined]
    closed = z2m.decode_mqtt("zigbee2mqtt/3-501", b'{"contact":true,"battery":90}')  # type: ignore[attr-defined]
    with time_machine.travel(T0, tick=False):
        ingest([Incoming(opened[0], T0)], "mqtt")
        # Redelivered after a crash between commit and acknowledgement.
        assert ingest([Incoming(opened[0], T0 + timedelta(seconds=2))], "mqtt").duplicates == 1
        # A real second opening after a close is a new event, although its payload repeats.
        ingest([Incoming(closed[0], T0 + timedelta(seconds=30))], "mqtt")
        assert ingest([Incoming(opened[0], T0 + timedelta(seconds=60))], "mqtt").stored == 1
    assert list(DeviceEvent.objects.order_by("id").values_list("door", flat=True)) == [
        "open",
        "closed",
        "open",
    ]


def test_unknown_device_is_kept_for_claiming_in_the_keys_area(town: Town) -> None:
    _, plaintext = create_ingest_key(None, "东风网关", "generic", area=town.east)
    response = Client().post(
        "/api/v1/ingest/generic",
        b'{"device":"new-1","door":"open"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.json()["new_devices"] == 1
    device = Device.objects.get(key="new-1")
    assert (device.status, device.area) == (DeviceStatus.UNCLAIMED, town.east)
    assert device.events.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"not json", 422, "json"),
        (b'{"device":"d1","door":"ajar"}', 422, "door"),
        (b'[{"device":"d1"},{"door":"open"}]', 422, "device"),
        (b'{"device":"d1","time":"2026-03-01T08:00:00"}', 422, "offset"),
    ],
)
def test_malformed_messages_get_a_reason_and_a_dead_letter(
    push: Push, body: bytes, status: int, words: str
) -> None:
    response = push(body)
    assert response.status_code == status
    assert words in response.json()["detail"].lower()
    letter = DeadLetter.objects.get()
    assert letter.payload == body.decode()
    assert letter.source == "网关一号"
    assert DeviceEvent.objects.count() == 0


def test_keys_are_checked(push: Push, db: None) -> None:
    assert push({"device": "d1"}, key="sw_wrong").status_code == 401
    _, ctwing_key = create_ingest_key(None, "电信平台", "ctwing")
    assert push({"device": "d1"}, key=ctwing_key).status_code == 403
    assert push({"device": "d1"}, adapter="nosuch").status_code == 404
    assert push({"device": "d1"}, adapter="zigbee2mqtt").status_code == 403
    assert DeviceEvent.objects.count() == 0


def test_key_in_query_for_platforms_without_headers(generic_key: str) -> None:
    response = Client().post(
        f"/api/v1/ingest/generic?key={generic_key}",
        b'{"device":"d1","door":"open"}',
        content_type="application/json",
    )
    assert response.status_code == 200


def test_health_changes_become_health_events(push: Push) -> None:
    push([msg("d1", 0, battery=50, tamper=False, id="1")])
    push([msg("d1", 1, battery=15, id="2"), msg("d1", 2, tamper=True, id="3")])
    push([msg("d1", 3, battery=100, tamper=False, id="4")])
    kinds = list(HealthEvent.objects.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["battery_low", "tamper", "battery_ok", "tamper_cleared"]


def test_low_battery_threshold_per_model(push: Push) -> None:
    DeviceKind.objects.create(model="LDS02", low_battery_percent=40)
    Device.objects.create(adapter="generic", key="d1", model="LDS02")
    push([msg("d1", 0, battery=35, id="1")])
    assert Device.objects.get(key="d1").battery_low is True


def test_offline_after_silence_and_back_online(push: Push) -> None:
    push([msg("d1", 0, door="closed", id="1")])
    Device.objects.filter(key="d1").update(status=DeviceStatus.INSTALLED)
    device = Device.objects.get(key="d1")
    assert device.last_seen_at is not None
    with time_machine.travel(device.last_seen_at + timedelta(hours=24), tick=False):
        assert mark_offline() == []
    with time_machine.travel(device.last_seen_at + timedelta(hours=25, minutes=1), tick=False):
        assert [h.kind for h in mark_offline()] == ["offline"]
        assert mark_offline() == []  # idempotent
    assert Device.objects.get(key="d1").offline is True
    push([msg("d1", 2000, door="closed", id="2")])
    device.refresh_from_db()
    assert device.offline is False
    assert HealthEvent.objects.filter(kind="online").count() == 1


def test_per_model_and_per_device_timeouts(push: Push) -> None:
    DeviceKind.objects.create(model="WS301", offline_after=timedelta(hours=2))
    Device.objects.create(
        adapter="generic", key="lora", model="WS301", status=DeviceStatus.INSTALLED
    )
    Device.objects.create(
        adapter="generic",
        key="fast",
        status=DeviceStatus.INSTALLED,
        offline_after=timedelta(minutes=30),
    )
    Device.objects.create(adapter="generic", key="zigbee", status=DeviceStatus.INSTALLED)
    push([msg("lora", 0, id="1"), msg("fast", 0, id="2"), msg("zigbee", 0, id="3")])
    seen = Device.objects.get(key="lora").last_seen_at
    assert seen is not None
    with time_machine.travel(seen + timedelta(hours=3), tick=False):
        mark_offline()
    assert set(Device.objects.filter(offline=True).values_list("key", flat=True)) == {
        "lora",
        "fast",
    }


def test_availability_offline_from_the_network(db: None) -> None:
    z2m = get_adapter("zigbee2mqtt")
    ingest(
        [Incoming(r, T0) for r in z2m.decode_mqtt("zigbee2mqtt/d/availability", b"offline")], "mqtt"
    )  # type: ignore[attr-defined]
    assert Device.objects.get(key="d").offline is True
    ingest(
        [
            Incoming(r, T0 + timedelta(minutes=1))
            for r in z2m.decode_mqtt("zigbee2mqtt/d/availability", b"online")
        ],
        "mqtt",
    )  # type: ignore[attr-defined]
    assert Device.objects.get(key="d").offline is False


def test_queries_per_batch_do_not_grow_with_its_size(push: Push) -> None:
    def count(n: int, start: int) -> int:
        batch = [
            msg(f"d{i % 7}", start + i, door="open" if i % 2 else "closed", id=f"{start}-{i}")
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert push(batch).json()["stored"] == n
        return len(queries)

    count(7, 0)  # create the devices first
    assert count(10, 100) == count(400, 1000)


def test_ids_too_long_for_storage_become_dead_letters(push: Push) -> None:
    response = push(
        [
            msg("d" * 201, 0, door="open"),
            msg("ok", 0, door="open", id="x" * 121),
            msg("ok", 1, door="closed", id="fine"),
        ]
    )
    assert response.status_code == 200
    assert response.json()["refused"] == 2
    assert response.json()["stored"] == 1
    assert DeadLetter.objects.count() == 2


def test_zigbee2mqtt_with_last_seen_is_idempotent_however_late_the_redelivery(db: None) -> None:
    z2m = get_adapter("zigbee2mqtt")
    payload = b'{"contact":false,"last_seen":"2026-03-01T08:00:00.120Z"}'
    [reading] = z2m.decode_mqtt("zigbee2mqtt/3-501", payload)  # type: ignore[attr-defined]
    assert ingest([Incoming(reading, T0)], "mqtt").stored == 1
    late = T0 + timedelta(hours=3)  # the bridge came back hours after a crash
    assert ingest([Incoming(reading, late)], "mqtt").duplicates == 1
