"""CTWing (China Telecom AEP) HTTP push adapter, against pushes captured from the platform."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters.base import DecodeError
from shouwang.devices.adapters.ctwing import adapter, decode_door_frame
from tests.devices.json_strategies import JSON_VALUES

# Captured pushes quoted in a CTWing integration on GitHub (a water-pressure meter, lwm2m, 2020):
# online report, command receipt, and a transparent dataReport in the meter's own binary format.
CAPTURED_ONLINE = {
    "timestamp": 1589444231825,
    "tenantId": "10461180",
    "protocol": "lwm2m",
    "productId": "10053421",
    "messageType": "deviceOnlineOfflineReport",
    "iccid": "undefined",
    "eventType": 1,
    "deviceId": "44d0b9e48d404094bbbcf889e4e64ece",
}
CAPTURED_COMMAND_RESPONSE = {
    "timestamp": 1589444233258,
    "tenantId": "10461180",
    "taskId": 1,
    "result": {"resultDetail": "", "resultCode": "DELIVERED"},
    "protocol": "lwm2m",
    "productId": "10053421",
    "messageType": "commandResponse",
    "deviceId": "44d0b9e48d404094bbbcf889e4e64ece",
}
CAPTURED_METER_APPDATA = {
    "upPacketSN": "",
    "upDataSN": "",
    "topic": "v1/up/ad",
    "timestamp": 1589444235861,
    "tenantId": "10461180",
    "serviceId": "",
    "protocol": "lwm2m",
    "productId": "10053421",
    "payload": {
        "APPdata": (
            "UFUAPBAAAAYBAAMAJwMnuwpogDAwYGckCQYAAQAADjxkZAJVcVCnAAAAAAAAAEYAAAAAAAAAAAEDJ7sKAAAAAA=="
        )
    },
    "messageType": "dataReport",
    "deviceType": "",
    "deviceId": "44d0b9e48d404094bbbcf889e4e64ece",
    "assocAssetId": "",
    "IMSI": "undefined",
    "IMEI": "860803030676429",
}
# From a CTWing push write-up on GitHub (2021): the low-battery event (事件上报, 低电量) and a
# property dataReport (GPS service) with upPacketSN -1.
LOW_BATTERY_EVENT = {
    "timestamp": 1619523767263,
    "tenantId": "2000033827",
    "serviceId": 1002,
    "protocol": "lwm2m",
    "productId": "15045240",
    "messageType": "eventReport",
    "eventType": 2,
    "eventContent": {"battery_voltage": 1, "battery_state": 1},
    "deviceSn": "",
    "deviceId": "d01308047f864601a821e02dc328eab4",
    "IMSI": "undefined",
    "IMEI": "161941770261953",
}
GPS_DATA_REPORT = {
    "upPacketSN": -1,
    "upDataSN": -1,
    "topic": "v1/up/ad19",
    "timestamp": 1619524024049,
    "tenantId": "2000033827",
    "serviceId": 10,
    "protocol": "lwm2m",
    "productId": "15045240",
    "payload": {"time": 1619524019000, "longitude": -174, "latitude": -86},
    "messageType": "dataReport",
    "deviceType": "",
    "deviceId": "d01308047f864601a821e02dc328eab4",
    "assocAssetId": "",
    "IMSI": "undefined",
    "IMEI": "161941770261953",
}
# A magnetic parking sensor's dataReport (GitHub, 2021): battery_voltage in volts, Signal_Power.
PARKING_SENSOR_REPORT = {
    "upPacketSN": -1,
    "upDataSN": -1,
    "topic": "v1/up/ad19",
    "timestamp": 1622186044981,
    "tenantId": "2000030881",
    "serviceId": 1,
    "protocol": "lwm2m",
    "productId": "15034864",
    "payload": {
        "version": 37,
        "ptime": 1622186096000,
        "parking_state": 0,
        "pack_count": 506,
        "battery_voltage": 3.6559998989105225,
        "Signal_Power": -90,
        "Alarm_info": 0,
    },
    "messageType": "dataReport",
    "deviceType": "",
    "deviceId": "87f4b2814f434992a94a4871b32c6b75",
    "assocAssetId": "",
    "IMSI": "undefined",
    "IMEI": "864016059485616",
}


def push(*messages: dict[str, Any]) -> bytes:
    body: Any = messages[0] if len(messages) == 1 else list(messages)
    return json.dumps(body).encode()


def decode(body: bytes) -> list[Any]:
    return adapter.decode_http(body, {}, {})


def door_report(appdata: bytes, **changes: Any) -> bytes:
    message = {
        "upPacketSN": 42,
        "upDataSN": 7,
        "topic": "v1/up/ad",
        "timestamp": 1716532200000,
        "tenantId": "2000033827",
        "serviceId": "",
        "protocol": "lwm2m",
        "productId": "15045240",
        "payload": {"APPdata": base64.b64encode(appdata).decode()},
        "messageType": "dataReport",
        "deviceType": "",
        "deviceId": "0b5c2f6a9e0f4d4f8e7f1c2d3b4a5968",
        "assocAssetId": "",
        "IMSI": "undefined",
        "IMEI": "869975030123456",
    }
    message.update(changes)
    return push(message)


class TestCapturedPushes:
    def test_online_report(self) -> None:
        (reading,) = decode(push(CAPTURED_ONLINE))
        assert reading.kind == "availability"
        assert reading.online is True
        assert reading.device_key == "44d0b9e48d404094bbbcf889e4e64ece"
        assert reading.event_time == datetime(2020, 5, 14, 8, 17, 11, 825000, tzinfo=UTC)
        assert reading.hardware_id is None
        assert reading.adapter == "ctwing"

    def test_offline_report(self) -> None:
        (reading,) = decode(push({**CAPTURED_ONLINE, "eventType": 0}))
        assert reading.online is False

    def test_command_response_is_not_device_data(self) -> None:
        assert decode(push(CAPTURED_COMMAND_RESPONSE)) == []

    def test_foreign_binary_appdata_is_refused(self) -> None:
        # The meter's 64-byte frame is not a Shouwang door frame.
        with pytest.raises(DecodeError, match="door frame is 5 bytes"):
            decode(push(CAPTURED_METER_APPDATA))

    def test_low_battery_event_reads_flags_only(self) -> None:
        (reading,) = decode(push(LOW_BATTERY_EVENT))
        assert reading.kind == "state"
        assert reading.battery_low is True
        # battery_voltage: 1 in an alarm event is an alarm code, not 1 V.
        assert reading.battery_mv is None
        assert reading.hardware_id == "161941770261953"
        assert reading.device_key == "d01308047f864601a821e02dc328eab4"

    def test_property_report_without_door_facts_is_a_heartbeat(self) -> None:
        (reading,) = decode(push(GPS_DATA_REPORT))
        assert reading.door is None
        assert reading.event_time == datetime(2021, 4, 27, 11, 47, 4, 49000, tzinfo=UTC)
        # upPacketSN -1 is "no sequence number": not part of the key.
        assert reading.dedup_key == "d01308047f864601a821e02dc328eab4:dataReport:1619524024049"

    def test_volts_and_signal_power_from_properties(self) -> None:
        (reading,) = decode(push(PARKING_SENSOR_REPORT))
        assert reading.battery_mv == 3656
        assert reading.signal == -90

    def test_merged_duplicate_reports_are_ignored(self) -> None:
        assert decode(push({**GPS_DATA_REPORT, "messageType": "dataReportTupUnion"})) == []


class TestDoorFrame:
    def test_documented_example(self) -> None:
        (reading,) = decode(door_report(base64.b64decode("AQELuFc=")))
        assert reading.door == "open"
        assert reading.tamper is False
        assert reading.battery_low is False
        assert reading.battery_mv == 3000
        assert reading.battery_percent == 87
        assert reading.hardware_id == "869975030123456"
        assert reading.dedup_key == "0b5c2f6a9e0f4d4f8e7f1c2d3b4a5968:dataReport:1716532200000:42"
        assert reading.event_time == datetime(2024, 5, 24, 6, 30, tzinfo=UTC)

    def test_closed_tampered_low_battery_unmeasured(self) -> None:
        fields = decode_door_frame(bytes([0x01, 0b110, 0xFF, 0xFF, 0xFF]))
        assert fields.door == "closed"
        assert fields.tamper is True
        assert fields.battery_low is True
        assert fields.battery_mv is None
        assert fields.battery_percent is None

    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            (bytes([0x01, 0x01, 0x0B, 0xB8]), "4 bytes"),
            (b"", "0 bytes"),
            (bytes([0x01, 0x01, 0x0B, 0xB8, 0x57, 0x00]), "6 bytes"),
            (bytes([0x02, 0x01, 0x0B, 0xB8, 0x57]), "version 2"),
            (bytes([0x01, 0x08, 0x0B, 0xB8, 0x57]), "reserved"),
            (bytes([0x01, 0x01, 0x0B, 0xB8, 0x65]), "above 100"),
        ],
    )
    def test_malformed_frames(self, frame: bytes, reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            decode(door_report(frame))

    def test_json_appdata(self) -> None:
        appdata = json.dumps({"door_state": "closed", "battery_value": 64, "rsrp": -98}).encode()
        (reading,) = decode(door_report(appdata))
        assert reading.door == "closed"
        assert reading.battery_percent == 64
        assert reading.signal == -98

    def test_json_appdata_that_is_not_an_object(self) -> None:
        with pytest.raises(DecodeError, match="APPdata"):
            decode(door_report(b"{not json"))

    @pytest.mark.parametrize("appdata", ["AQELuFc", "@@@@", "AQEL uFc=", 17, None])
    def test_bad_base64(self, appdata: Any) -> None:
        message = json.loads(door_report(b"\x01\x01\x0b\xb8\x57"))
        message["payload"] = {"APPdata": appdata}
        with pytest.raises(DecodeError, match="APPdata"):
            decode(push(message))


class TestEnvelope:
    def test_batch(self) -> None:
        readings = decode(push(CAPTURED_ONLINE, LOW_BATTERY_EVENT, CAPTURED_COMMAND_RESPONSE))
        assert [reading.kind for reading in readings] == ["availability", "state"]

    def test_one_bad_item_fails_the_batch(self) -> None:
        with pytest.raises(DecodeError, match=r"message\[1\]"):
            decode(push(CAPTURED_ONLINE, {**CAPTURED_ONLINE, "eventType": 5}))

    def test_empty_batch(self) -> None:
        assert decode(b"[]") == []

    def test_property_door_values(self) -> None:
        (reading,) = decode(
            push({**GPS_DATA_REPORT, "payload": {"door_status": 1, "tamper_alarm": 0}})
        )
        assert reading.door == "open"
        assert reading.tamper is False

    def test_undefined_imei_is_not_a_hardware_id(self) -> None:
        (reading,) = decode(push({**GPS_DATA_REPORT, "IMEI": "undefined"}))
        assert reading.hardware_id is None

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"messageType": "deviceAddDelete"}, "not a CTWing push type"),
            ({"messageType": None}, "messageType"),
            ({"deviceId": None}, "deviceId"),
            ({"deviceId": ""}, "deviceId"),
            ({"timestamp": "1619524024049"}, "timestamp"),
            ({"timestamp": 1619524024}, "timestamp"),
            ({"payload": "door=open"}, "payload"),
            ({"payload": None}, "payload"),
            ({"payload": {"door_state": "ajar"}}, "door_state"),
            ({"payload": {"battery_value": "full"}}, "battery_value"),
            ({"upPacketSN": 1.5}, "upPacketSN"),
        ],
    )
    def test_malformed_data_report(self, changes: dict[str, Any], reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            decode(push({**GPS_DATA_REPORT, **changes}))

    @pytest.mark.parametrize("event_type", [None, 2, "1", True])
    def test_bad_online_event_type(self, event_type: Any) -> None:
        with pytest.raises(DecodeError, match="eventType"):
            decode(push({**CAPTURED_ONLINE, "eventType": event_type}))

    def test_event_content_must_be_an_object(self) -> None:
        with pytest.raises(DecodeError, match="eventContent"):
            decode(push({**LOW_BATTERY_EVENT, "eventContent": [1]}))

    @pytest.mark.parametrize("body", [b"", b"not json", b'"dataReport"', b"[1]", b"{", b"\x00\xff"])
    def test_not_a_push(self, body: bytes) -> None:
        with pytest.raises(DecodeError):
            decode(body)

    def test_batch_size_is_limited(self) -> None:
        with pytest.raises(DecodeError, match="at most"):
            decode(json.dumps([CAPTURED_ONLINE] * 1001).encode())


CTWING_KEYS = [
    "messageType",
    "deviceId",
    "timestamp",
    "IMEI",
    "payload",
    "eventType",
    "eventContent",
    "upPacketSN",
]


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_decode_error(body: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(body)


@settings(max_examples=300, deadline=None)
@given(
    message=st.dictionaries(st.sampled_from(CTWING_KEYS), JSON_VALUES, max_size=8),
    message_type=st.sampled_from(["dataReport", "eventReport", "deviceOnlineOfflineReport"]),
    appdata=st.binary(max_size=8),
)
def test_arbitrary_messages_only_ever_raise_decode_error(
    message: dict[str, Any], message_type: str, appdata: bytes
) -> None:
    shaped = {
        **message,
        "messageType": message_type,
        "deviceId": "d01308047f864601a821e02dc328eab4",
        "payload": {"APPdata": base64.b64encode(appdata).decode()},
    }
    for variant in (message, shaped, [shaped, message]):
        with contextlib.suppress(DecodeError):
            decode(json.dumps(variant).encode())
