"""Shouwang generic JSON adapter: the format documented in generic.py and device-integration.md."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters.base import DecodeError
from shouwang.devices.adapters.generic import adapter
from tests.devices.json_strategies import JSON_VALUES

# The documented example (docs/device-integration.md, "Generic JSON").
DOCUMENTED = {
    "device": "gate-3/door-1",
    "time": "2024-05-01T08:30:00+08:00",
    "door": "open",
    "battery": 87,
    "battery_mv": 3000,
    "tamper": False,
    "online": True,
    "signal": -70,
    "id": "a1b2c3",
}


def http(body: Any) -> list[Any]:
    return adapter.decode_http(json.dumps(body).encode(), {}, {})


class TestHttp:
    def test_documented_example(self) -> None:
        (reading,) = http(DOCUMENTED)
        assert reading.device_key == "gate-3/door-1"
        assert reading.event_time == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
        assert reading.door == "open"
        assert reading.battery_percent == 87
        assert reading.battery_mv == 3000
        assert reading.tamper is False
        assert reading.online is True
        assert reading.signal == -70
        assert reading.dedup_key == "a1b2c3"
        assert reading.kind == "state"
        assert reading.adapter == "generic"

    def test_minimal_message(self) -> None:
        (reading,) = http({"device": "d1", "door": "closed"})
        assert reading.door == "closed"
        assert reading.event_time is None
        assert reading.dedup_key is None
        assert reading.battery_percent is None

    def test_online_only_is_availability(self) -> None:
        (reading,) = http({"device": "d1", "online": False, "time": "2024-05-01T00:00:00Z"})
        assert reading.kind == "availability"
        assert reading.online is False

    def test_heartbeat(self) -> None:
        (reading,) = http({"device": "d1", "signal": -101})
        assert reading.kind == "state"
        assert reading.door is None

    def test_batch(self) -> None:
        readings = http(
            [{"device": "d1", "door": "open"}, {"device": "d2", "door": "closed", "id": "m2"}]
        )
        assert [(reading.device_key, reading.door) for reading in readings] == [
            ("d1", "open"),
            ("d2", "closed"),
        ]

    def test_empty_batch(self) -> None:
        assert http([]) == []

    def test_null_means_absent(self) -> None:
        (reading,) = http({"device": "d1", "door": None, "battery": None})
        assert reading.door is None


class TestMqtt:
    def test_topic_names_the_device(self) -> None:
        payload = json.dumps({"door": "open", "battery": 50}).encode()
        (reading,) = adapter.decode_mqtt("shouwang/generic/gate-3/door-1", payload)
        assert reading.device_key == "gate-3/door-1"
        assert reading.door == "open"

    def test_device_in_payload_must_match_the_topic(self) -> None:
        payload = json.dumps({"device": "door-2", "door": "open"}).encode()
        with pytest.raises(DecodeError, match="does not match"):
            adapter.decode_mqtt("shouwang/generic/door-1", payload)

    def test_matching_device_in_payload_is_fine(self) -> None:
        payload = json.dumps({"device": "door-1", "door": "closed"}).encode()
        assert adapter.decode_mqtt("shouwang/generic/door-1", payload)[0].door == "closed"

    def test_batch_over_mqtt(self) -> None:
        payload = json.dumps([{"door": "open", "id": "1"}, {"door": "closed", "id": "2"}]).encode()
        readings = adapter.decode_mqtt("shouwang/generic/door-1", payload)
        assert [reading.dedup_key for reading in readings] == ["1", "2"]

    @pytest.mark.parametrize(
        "topic", ["shouwang/generic/", "shouwang/generic", "shouwang/other/d", "d"]
    )
    def test_bad_topic(self, topic: str) -> None:
        with pytest.raises(DecodeError, match="topic"):
            adapter.decode_mqtt(topic, b'{"door":"open"}')


class TestStrictValidation:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"door": "ajar"}, "door"),
            ({"door": "OPEN"}, "door"),
            ({"door": True}, "door"),
            ({"door": 1}, "door"),
            ({"battery": 101}, "battery"),
            ({"battery": -1}, "battery"),
            ({"battery": 87.5}, "battery"),
            ({"battery": "87"}, "battery"),
            ({"battery": True}, "battery"),
            ({"battery_mv": -5}, "battery_mv"),
            ({"battery_mv": 3.0}, "battery_mv"),
            ({"tamper": "false"}, "tamper"),
            ({"tamper": 0}, "tamper"),
            ({"online": "yes"}, "online"),
            ({"battery_low": 1}, "battery_low"),
            ({"signal": "-70"}, "signal"),
            ({"signal": -5000}, "signal"),
            ({"time": "2024-05-01T08:30:00"}, "time"),
            ({"time": "2024-05-01"}, "time"),
            ({"time": 1714523400000}, "time"),
            ({"time": "yesterday"}, "time"),
            ({"id": 17}, "id"),
            ({"id": ""}, "id"),
            ({"device": ""}, "device"),
            ({"device": 12}, "device"),
            ({"batery": 50}, "unknown field"),
        ],
    )
    def test_refused_naming_the_field(self, changes: dict[str, Any], field: str) -> None:
        with pytest.raises(DecodeError, match=field):
            http({**DOCUMENTED, **changes})

    def test_device_is_required_over_http(self) -> None:
        with pytest.raises(DecodeError, match="device is required"):
            http({"door": "open"})

    def test_one_bad_item_fails_the_batch_naming_it(self) -> None:
        with pytest.raises(DecodeError, match=r"body\[1\]\.door"):
            http([{"device": "d1", "door": "open"}, {"device": "d2", "door": "half"}])

    @pytest.mark.parametrize(
        "body", [b"", b"not json", b"42", b'"door"', b"[1]", b"{", b'{"device": NaN}', b"\xff"]
    )
    def test_not_json_objects(self, body: bytes) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_http(body, {}, {})

    def test_batch_size_is_limited(self) -> None:
        with pytest.raises(DecodeError, match="at most 1000"):
            http([{"device": "d", "door": "open"}] * 1001)


GENERIC_KEYS = [*sorted(DOCUMENTED), "battery_low"]


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=40), payload=st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_decode_error(topic: str, payload: bytes) -> None:
    for candidate in (topic, "shouwang/generic/" + topic):
        with contextlib.suppress(DecodeError):
            adapter.decode_mqtt(candidate, payload)
    with contextlib.suppress(DecodeError):
        adapter.decode_http(payload, {}, {})


@settings(max_examples=300, deadline=None)
@given(message=st.dictionaries(st.sampled_from(GENERIC_KEYS), JSON_VALUES, max_size=9))
def test_arbitrary_messages_only_ever_raise_decode_error(message: dict[str, Any]) -> None:
    for body in (message, [message, message]):
        try:
            readings = http(body)
        except DecodeError:
            continue
        for reading in readings:
            assert reading.event_time is None or reading.event_time.tzinfo is UTC
