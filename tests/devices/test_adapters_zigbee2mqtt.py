"""Zigbee2MQTT adapter, against payloads Z2M publishes for real contact sensors."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters.base import DecodeError
from shouwang.devices.adapters.zigbee2mqtt import Zigbee2MqttAdapter, adapter
from tests.devices.json_strategies import JSON_VALUES

# Aqara MCCGQ11LM as published by Z2M (quoted in a vue/MQTT door tutorial on GitHub: "Bei
# geschlossener Türe ist contact:true").
AQARA_OPEN = (
    b'{"battery":100,"contact":false,"device_temperature":26,"linkquality":153,'
    b'"power_outage_count":6889,"voltage":3035}'
)
# SONOFF SNZB-04 (Tuya-style keys, fractional battery) from a Z2M topic listing on GitHub.
SONOFF_CLOSED = (
    b'{"battery":30.5,"battery_low":false,"contact":true,"linkquality":10,"tamper":false,'
    b'"voltage":2800}'
)
# A Z2M log line ("MQTT publish: topic 'zigbee2mqtt/0x142d41fffe5820ac'") with an OTA block.
LOGGED_WITH_UPDATE = (
    b'{"battery":100,"battery_low":false,"contact":false,"linkquality":255,"tamper":false,'
    b'"update":{"installed_version":16777241,"latest_version":16777241,"state":"idle"}}'
)
# Z2M with last_seen enabled (Home Assistant log quoting zigbee2mqtt/SZ_WINDOW01).
WITH_LAST_SEEN = (
    b'{"battery":100,"contact":false,"device_temperature":17,'
    b'"last_seen":"2024-01-10T17:42:21+00:00","linkquality":42,"power_outage_count":33,'
    b'"voltage":3015}'
)


class TestState:
    def test_contact_false_means_open(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/front_door", AQARA_OPEN)[0]
        assert reading.door == "open"
        assert reading.kind == "state"
        assert reading.device_key == "front_door"
        assert reading.battery_percent == 100
        assert reading.battery_mv == 3035
        assert reading.signal == 153
        assert reading.adapter == "zigbee2mqtt"

    def test_contact_true_means_closed(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/0x00124b0025130e7d", SONOFF_CLOSED)[0]
        assert reading.door == "closed"
        assert reading.battery_low is False
        assert reading.tamper is False
        # 30.5 % rounds; the Reading holds whole percents.
        assert reading.battery_percent == 30

    def test_extra_keys_are_ignored(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/0x142d41fffe5820ac", LOGGED_WITH_UPDATE)[0]
        assert reading.door == "open"
        assert reading.signal == 255
        assert isinstance(reading.raw, dict)
        assert reading.raw["update"]["state"] == "idle"

    def test_missing_keys_mean_unchanged(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/door", b'{"contact":true}')[0]
        assert reading.door == "closed"
        assert reading.battery_percent is None
        assert reading.battery_mv is None
        assert reading.battery_low is None
        assert reading.tamper is None
        assert reading.signal is None
        assert reading.event_time is None

    def test_null_means_unknown(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/door", b'{"contact":null,"battery":null}')[0]
        assert reading.door is None
        assert reading.battery_percent is None

    def test_heartbeat_without_known_fields_still_yields_a_reading(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/door", b'{"linkquality":87}')[0]
        assert reading.kind == "state"
        assert reading.door is None
        assert reading.signal == 87

    def test_empty_object_is_a_heartbeat(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/door", b"{}")[0]
        assert reading.door is None

    def test_friendly_name_may_contain_slashes(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/building 3/floor 2/door", b'{"contact":false}')[
            0
        ]
        assert reading.device_key == "building 3/floor 2/door"

    def test_implausible_battery_is_dropped_not_fatal(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/door", b'{"battery":200,"contact":false}')[0]
        assert reading.battery_percent is None
        assert reading.door == "open"

    def test_device_information(self) -> None:
        # Shape from Z2M's controller (mqtt.include_device_information: true).
        payload = json.dumps(
            {
                "contact": True,
                "device": {
                    "friendlyName": "front_door",
                    "model": "MCCGQ11LM",
                    "ieeeAddr": "0x00158d000414385c",
                    "networkAddress": 10532,
                    "type": "EndDevice",
                    "manufacturerID": 4151,
                    "powerSource": "Battery",
                },
            }
        ).encode()
        reading = adapter.decode_mqtt("zigbee2mqtt/front_door", payload)[0]
        assert reading.model == "MCCGQ11LM"
        assert reading.hardware_id == "0x00158d000414385c"
        assert reading.device_key == "front_door"

    def test_no_dedup_key_because_z2m_has_no_message_id(self) -> None:
        assert adapter.decode_mqtt("zigbee2mqtt/door", AQARA_OPEN)[0].dedup_key is None


class TestLastSeen:
    def test_iso_8601_utc_from_log(self) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/SZ_WINDOW01", WITH_LAST_SEEN)[0]
        assert reading.event_time == datetime(2024, 1, 10, 17, 42, 21, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            # The three formats in Z2M's utils formatDate() comments.
            ("2019-03-01T15:32:45.941Z", datetime(2019, 3, 1, 15, 32, 45, 941000, tzinfo=UTC)),
            (
                "2019-03-01T16:32:45.941+01:00",
                datetime(2019, 3, 1, 15, 32, 45, 941000, tzinfo=UTC),
            ),
            (1551454365941, datetime(2019, 3, 1, 15, 32, 45, 941000, tzinfo=UTC)),
        ],
    )
    def test_every_z2m_format(self, value: object, expected: datetime) -> None:
        payload = json.dumps({"contact": True, "last_seen": value}).encode()
        event_time = adapter.decode_mqtt("zigbee2mqtt/door", payload)[0].event_time
        assert event_time == expected
        assert event_time is not None
        assert event_time.utcoffset() is not None

    @pytest.mark.parametrize(
        "value", ["2024-01-10T17:42:21", "yesterday", "", 12, True, [1], {"t": 1}]
    )
    def test_bad_last_seen_is_refused(self, value: object) -> None:
        payload = json.dumps({"contact": True, "last_seen": value}).encode()
        with pytest.raises(DecodeError, match="last_seen"):
            adapter.decode_mqtt("zigbee2mqtt/door", payload)


class TestAvailability:
    @pytest.mark.parametrize(
        ("payload", "online"),
        [
            (b"online", True),
            (b"offline", False),
            (b'{"state":"online"}', True),
            (b'{"state":"offline"}', False),
        ],
    )
    def test_both_payload_styles(self, payload: bytes, online: bool) -> None:
        reading = adapter.decode_mqtt("zigbee2mqtt/hall/door/availability", payload)[0]
        assert reading.kind == "availability"
        assert reading.online is online
        assert reading.device_key == "hall/door"
        assert reading.door is None

    @pytest.mark.parametrize("payload", [b"maybe", b'{"state":"gone"}', b"[]", b'{"state":1}'])
    def test_unknown_availability_is_refused(self, payload: bytes) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_mqtt("zigbee2mqtt/door/availability", payload)

    def test_cleared_retained_message_is_ignored(self) -> None:
        assert adapter.decode_mqtt("zigbee2mqtt/door/availability", b"") == []
        assert adapter.decode_mqtt("zigbee2mqtt/door", b"") == []


class TestTopics:
    @pytest.mark.parametrize(
        ("topic", "payload"),
        [
            ("zigbee2mqtt/bridge/state", b"online"),
            ("zigbee2mqtt/bridge/state", b'{"state":"online"}'),
            ("zigbee2mqtt/bridge/devices", b'[{"ieee_address":"0x00158d00018255df"}]'),
            ("zigbee2mqtt/bridge/logging", b'{"level":"info","message":"Zigbee: allowing"}'),
            (
                "zigbee2mqtt/bridge/event",
                b'{"type":"device_joined","data":{"friendly_name":"0x90fd9ffffe6494fc"}}',
            ),
            ("zigbee2mqtt/bridge", b"anything"),
        ],
    )
    def test_bridge_is_not_a_device(self, topic: str, payload: bytes) -> None:
        assert adapter.decode_mqtt(topic, payload) == []

    @pytest.mark.parametrize(
        "topic",
        ["zigbee2mqtt/door/set", "zigbee2mqtt/door/get", "zigbee2mqtt/room/door/set/state"],
    )
    def test_commands_are_not_state(self, topic: str) -> None:
        assert adapter.decode_mqtt(topic, b'{"state": "ON"}') == []

    def test_configurable_base_topic(self) -> None:
        custom = Zigbee2MqttAdapter(base_topic="site-a/z2m")
        assert custom.decode_mqtt("site-a/z2m/door", b'{"contact":false}')[0].door == "open"
        with pytest.raises(DecodeError, match="base topic"):
            custom.decode_mqtt("zigbee2mqtt/door", b'{"contact":false}')

    def test_empty_base_topic_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="base_topic"):
            Zigbee2MqttAdapter(base_topic="/")

    @pytest.mark.parametrize(
        "topic",
        ["zigbee2mqtt", "zigbee2mqtt/", "zigbee2mqtt//door", "other/door", "zigbee2mqttx/a"],
    )
    def test_bad_topics(self, topic: str) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_mqtt(topic, b'{"contact":true}')


class TestMalformed:
    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            (b"not json", "not valid JSON"),
            (b'{"contact": tru', "not valid JSON"),
            (b"[1, 2]", "JSON object"),
            (b'"online"', "JSON object"),
            (b"42", "JSON object"),
            (b'{"contact": "true"}', "contact"),
            (b'{"contact": 1}', "contact"),
            (b'{"battery": "100"}', "battery"),
            (b'{"voltage": [3000]}', "voltage"),
            (b'{"tamper": "no"}', "tamper"),
            (b'{"battery_low": 0}', "battery_low"),
            (b'{"linkquality": {}}', "linkquality"),
            (b'{"device": "0x00158d000414385c"}', "device"),
            (b'{"battery": NaN}', "NaN"),
            (b"\xff\xfe\xfa", "not valid JSON"),
        ],
    )
    def test_refused_with_a_reason(self, payload: bytes, field: str) -> None:
        with pytest.raises(DecodeError, match=field):
            adapter.decode_mqtt("zigbee2mqtt/door", payload)

    def test_deeply_nested_json_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_mqtt("zigbee2mqtt/door", b'{"a":' + b"[" * 100_000)


Z2M_KEYS = [
    "contact",
    "battery",
    "battery_low",
    "voltage",
    "tamper",
    "linkquality",
    "last_seen",
    "device",
]


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=40), payload=st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_decode_error(topic: str, payload: bytes) -> None:
    for candidate in (topic, "zigbee2mqtt/" + topic, "zigbee2mqtt/door/availability"):
        with contextlib.suppress(DecodeError):
            adapter.decode_mqtt(candidate, payload)


@settings(max_examples=300, deadline=None)
@given(
    message=st.dictionaries(
        st.sampled_from(Z2M_KEYS) | st.text(max_size=8), JSON_VALUES, max_size=6
    ),
    suffix=st.sampled_from(["", "/availability"]),
)
def test_arbitrary_json_objects_only_ever_raise_decode_error(
    message: dict[str, object], suffix: str
) -> None:
    try:
        readings = adapter.decode_mqtt("zigbee2mqtt/door" + suffix, json.dumps(message).encode())
    except DecodeError:
        return
    for reading in readings:
        assert reading.event_time is None or reading.event_time.utcoffset() is not None
        assert reading.battery_percent is None or 0 <= reading.battery_percent <= 100
