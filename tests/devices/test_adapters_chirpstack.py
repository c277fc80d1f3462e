"""ChirpStack v4 adapter, against the event JSON in ChirpStack's docs and the vendors' decoders."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters.base import DecodeError
from shouwang.devices.adapters.chirpstack import (
    ChirpStackAdapter,
    adapter,
    decode_lds0x,
    decode_ws301,
)
from tests.devices.json_strategies import JSON_VALUES

DEV_EUI = "0101010101010101"
UP_TOPIC = f"application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{DEV_EUI}/event/up"
STATUS_TOPIC = UP_TOPIC.replace("/event/up", "/event/status")

DEVICE_INFO = {
    "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
    "tenantName": "ChirpStack",
    "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
    "applicationName": "Test application",
    "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
    "deviceProfileName": "Test device-profile",
    "deviceName": "Test device",
    "devEui": DEV_EUI,
    "tags": {"key": "value"},
}

# The `up` example of chirpstack-docs src/chirpstack/integrations/events.md, verbatim. Note: no
# fCnt (it is 0, and the Protobuf JSON mapping omits zero values).
DOCS_UP: dict[str, Any] = {
    "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    "time": "2022-07-18T09:34:15.775023242+00:00",
    "deviceInfo": DEVICE_INFO,
    "devAddr": "00189440",
    "dr": 1,
    "fPort": 1,
    "data": "qg==",
    "rxInfo": [
        {
            "gatewayId": "0016c001f153a14c",
            "uplinkId": 4217106255,
            "rssi": -36,
            "snr": 10.5,
            "context": "E3OWOQ==",
            "metadata": {"region_name": "eu868", "region_common_name": "EU868"},
        }
    ],
    "txInfo": {
        "frequency": 867100000,
        "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 11, "codeRate": "CR_4_5"}},
    },
}

# The `status` example of the same page, verbatim.
DOCS_STATUS: dict[str, Any] = {
    "deduplicationId": "bf2a9746-1c8b-49be-a92e-f0b89c8534e4",
    "time": "2022-07-18T09:35:06.927172638+00:00",
    "deviceInfo": {key: value for key, value in DEVICE_INFO.items() if key != "tags"},
    "margin": 10,
    "batteryLevel": 88.3,
}


def uplink(profile: str, f_port: int, hex_payload: str, **changes: Any) -> bytes:
    message = copy.deepcopy(DOCS_UP)
    message["deviceInfo"]["deviceProfileName"] = profile
    message["fPort"] = f_port
    message["data"] = base64.b64encode(bytes.fromhex(hex_payload)).decode()
    message.update(changes)
    return json.dumps(message).encode()


def up_with(**changes: Any) -> bytes:
    message = copy.deepcopy(DOCS_UP)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return json.dumps(message).encode()


class TestMilesightWs301:
    def test_readme_example(self) -> None:
        # SensorDecoders WS_Series/WS301/README.md: 01 75 64 03 00 01 04 00 01 ->
        # battery 100, state open, install no.
        reading = adapter.decode_mqtt(UP_TOPIC, uplink("WS301 EU868", 85, "017564030001040001"))[0]
        assert reading.door == "open"
        assert reading.battery_percent == 100
        assert reading.tamper is True
        assert reading.device_key == DEV_EUI
        assert reading.model == "WS301 EU868"
        assert reading.signal == -36
        assert reading.event_time == datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)
        assert reading.dedup_key == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
        assert isinstance(reading.raw, dict)
        assert reading.raw["shouwang_decoded"]["magnet_status"] == "open"

    def test_ttn_codec_examples(self) -> None:
        # TTN lorawan-devices vendor/milesight-iot/ws301-codec.yaml, both on fPort 85.
        assert decode_ws301(85, bytes([0x03, 0x00, 0x01]))[0].door == "open"
        install_no = decode_ws301(85, bytes([0x04, 0x00, 0x01]))[0]
        assert install_no.tamper is True
        assert install_no.door is None

    def test_closed_and_installed(self) -> None:
        fields, _ = decode_ws301(85, bytes.fromhex("017532030000040000"))
        assert fields.door == "closed"
        assert fields.tamper is False
        assert fields.battery_percent == 50

    def test_device_information_channels_are_skipped(self) -> None:
        # Power-on frame: ff0b (device status), ff01 (IPSO version), ff0a (firmware), ff0f (class)
        # before the data channels; lengths from WS301_Decoder.js.
        fields, decoded = decode_ws301(
            85, bytes.fromhex("ff0bff ff0110 ff0a0102 ff0f00 017564 030000")
        )
        assert fields.door == "closed"
        assert fields.battery_percent == 100
        assert decoded["ff0a"] == "0102"

    def test_unknown_channel_after_known_ones_keeps_what_came_before(self) -> None:
        fields, decoded = decode_ws301(85, bytes.fromhex("030001 7777aa"))
        assert fields.door == "open"
        assert decoded["unparsed_from_byte"] == 3

    @pytest.mark.parametrize(
        ("f_port", "hex_payload", "reason"),
        [
            (86, "030001", "fPort"),
            (85, "0175", "truncated"),
            (85, "03", "truncated"),
            (85, "017564 0300", "truncated"),
            (85, "9999aa", "channel we do not know"),
            (85, "ff0a01", "truncated"),
        ],
    )
    def test_malformed(self, f_port: int, hex_payload: str, reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            adapter.decode_mqtt(UP_TOPIC, uplink("Milesight WS301", f_port, hex_payload))


class TestDraginoLds:
    def test_closed_frame(self) -> None:
        # Layout of Dragino's lds01_02_Decoder_Chirpstack_V4_v1.5: 0x0B88 -> 2952 mV, bit 15 clear
        # -> closed; MOD 1; 37 openings; last open 1 minute; no alarm.
        reading = adapter.decode_mqtt(
            UP_TOPIC, uplink("Dragino LDS02", 10, "0b88010000250000 0100")
        )[0]
        assert reading.door == "closed"
        assert reading.battery_mv == 2952
        assert reading.battery_percent is None
        assert isinstance(reading.raw, dict)
        assert reading.raw["shouwang_decoded"] == {
            "BAT_mV": 2952,
            "MOD": 1,
            "ALARM": 0,
            "DOOR_OPEN_STATUS": 0,
            "DOOR_OPEN_TIMES": 37,
            "LAST_DOOR_OPEN_DURATION": 1,
        }

    def test_open_frame_with_alarm(self) -> None:
        fields, decoded = decode_lds0x(10, bytes.fromhex("8b88010000260000 0001"))
        assert fields.door == "open"
        assert fields.battery_mv == 2952
        assert decoded["ALARM"] == 1

    def test_lds01_profile_uses_the_same_decoder(self) -> None:
        reading = adapter.decode_mqtt(UP_TOPIC, uplink("LDS01-EU868", 10, "8c1c010000010000 0000"))[
            0
        ]
        assert reading.door == "open"
        assert reading.battery_mv == 3100

    def test_water_leak_mode_says_nothing_about_the_door(self) -> None:
        fields, decoded = decode_lds0x(10, bytes.fromhex("cb88020000010000 0200"))
        assert fields.door is None
        assert decoded["MOD"] == 2

    def test_edc_mode_on_fport_7(self) -> None:
        # LDS02_Decoder_1.8.2: fPort 7 carries BatV, the EDC mode bit and a counter.
        fields, decoded = decode_lds0x(7, bytes.fromhex("8b88000102"))
        assert fields.door is None
        assert fields.battery_mv == 2952
        assert decoded == {"BAT_mV": 2952, "EDC_MODE": "OPEN", "EDC_COUNT": 258}

    def test_ttn_example_is_truncated_and_refused(self) -> None:
        # TTN lorawan-devices vendor/dragino/lds02-codec.yaml "Distance Detection" example is only
        # 7 bytes; the JS decoder reads undefined bytes as 0. We refuse rather than guess.
        with pytest.raises(DecodeError, match="expected 10"):
            adapter.decode_mqtt(UP_TOPIC, uplink("Dragino LDS02", 10, "0b880100250001"))

    def test_unknown_fport_from_ttn_example(self) -> None:
        # Same codec file, "Unknown FPort" example: fPort 42.
        with pytest.raises(DecodeError, match="unknown fPort 42"):
            adapter.decode_mqtt(UP_TOPIC, uplink("Dragino LDS02", 42, "0b880100250001"))

    def test_truncated_edc_frame(self) -> None:
        with pytest.raises(DecodeError, match="at least 5"):
            decode_lds0x(7, b"\x0b\x88")


class TestModelSelection:
    def test_explicit_mapping_by_dev_eui(self) -> None:
        mapped = ChirpStackAdapter(models={DEV_EUI.upper(): "LDS02"})
        reading = mapped.decode_mqtt(UP_TOPIC, uplink("door sensors", 10, "0b88010000000000 0000"))[
            0
        ]
        assert reading.door == "closed"
        assert reading.model == "door sensors"

    def test_explicit_mapping_by_profile_name(self) -> None:
        mapped = ChirpStackAdapter(models={"Front doors": "ws301"})
        assert mapped.decode_mqtt(UP_TOPIC, uplink("Front doors", 85, "030001"))[0].door == "open"

    def test_unknown_model_in_mapping_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="unknown model"):
            ChirpStackAdapter(models={DEV_EUI: "ws302"})

    def test_unknown_model_without_codec_output_is_refused(self) -> None:
        # The docs example itself: profile "Test device-profile", data "qg==", no object.
        with pytest.raises(DecodeError, match="no codec output"):
            adapter.decode_mqtt(UP_TOPIC, json.dumps(DOCS_UP).encode())

    def test_codec_object_of_other_models(self) -> None:
        # Output of Dragino's own ChirpStack v4 decoder (lds01_02_Decoder_Chirpstack_V4_v1.5).
        codec_object = {
            "Node_type": "LDS02",
            "BAT_V": 2.952,
            "MOD": 1,
            "DOOR_OPEN_STATUS": 1,
            "DOOR_OPEN_TIMES": 37,
            "LAST_DOOR_OPEN_DURATION": 1,
            "ALARM": 0,
        }
        reading = adapter.decode_mqtt(UP_TOPIC, up_with(object=codec_object))[0]
        assert reading.door == "open"
        assert reading.battery_mv == 2952

    def test_milesight_codec_object(self) -> None:
        # Output of Milesight's WS301_Chirpstack_v4.js for the README payload.
        codec_object = {"battery": 100, "magnet_status": "close", "tamper_status": "uninstalled"}
        reading = adapter.decode_mqtt(UP_TOPIC, up_with(object=codec_object))[0]
        assert reading.door == "closed"
        assert reading.tamper is True
        assert reading.battery_percent == 100

    @pytest.mark.parametrize(
        "codec_object",
        [
            {"doorStatus": "OPEN"},
            {"door_open": True},
            {"door": 1},
            {"contact": False},
            {"DOOR_OPEN_STATUS": "1"},
        ],
    )
    def test_common_open_spellings(self, codec_object: dict[str, Any]) -> None:
        assert adapter.decode_mqtt(UP_TOPIC, up_with(object=codec_object))[0].door == "open"

    def test_unknown_door_value_in_object_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="magnet_status"):
            adapter.decode_mqtt(UP_TOPIC, up_with(object={"magnet_status": "ajar"}))

    def test_object_must_be_an_object(self) -> None:
        with pytest.raises(DecodeError, match="object"):
            adapter.decode_mqtt(UP_TOPIC, up_with(object=[1, 2]))


class TestUplinkEnvelope:
    def test_mac_only_uplink_is_a_heartbeat(self) -> None:
        reading = adapter.decode_mqtt(UP_TOPIC, up_with(fPort=None, data=None))[0]
        assert reading.door is None
        assert reading.signal == -36

    def test_fcnt_absent_means_zero_in_fallback_dedup_key(self) -> None:
        reading = adapter.decode_mqtt(
            UP_TOPIC, up_with(deduplicationId=None, object={"door": "open"})
        )[0]
        assert reading.dedup_key == f"{DEV_EUI}:00189440:0"

    def test_fallback_dedup_key_without_devaddr(self) -> None:
        reading = adapter.decode_mqtt(
            UP_TOPIC, up_with(deduplicationId=None, devAddr=None, fCnt=17, object={"door": 0})
        )[0]
        assert reading.dedup_key == f"{DEV_EUI}:17"

    def test_strongest_gateway_wins(self) -> None:
        rx_info = [{"gatewayId": "a", "rssi": -110}, {"gatewayId": "b", "rssi": -87}]
        reading = adapter.decode_mqtt(UP_TOPIC, up_with(rxInfo=rx_info, object={"door": 0}))[0]
        assert reading.signal == -87

    def test_gateway_without_rssi_is_skipped(self) -> None:
        rx_info = [{"gatewayId": "a"}, {"gatewayId": "b", "rssi": -101}]
        reading = adapter.decode_mqtt(UP_TOPIC, up_with(rxInfo=rx_info, object={"door": 0}))[0]
        assert reading.signal == -101

    def test_time_absent(self) -> None:
        assert adapter.decode_mqtt(UP_TOPIC, up_with(time=None, object={}))[0].event_time is None

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"data": "not base64!"}, "base64"),
            ({"data": 12}, "base64"),
            ({"data": []}, "base64"),
            ({"deviceInfo": []}, "deviceInfo"),
            ({"time": "2022-07-18T09:34:15"}, "timezone"),
            ({"time": "soon"}, "ISO 8601"),
            ({"fCnt": "7"}, "fCnt"),
            ({"fPort": 1.5}, "fPort"),
            ({"rxInfo": {"rssi": -50}}, "rxInfo"),
            ({"rxInfo": [{"rssi": "loud"}]}, "rssi"),
            ({"deviceInfo": "x"}, "deviceInfo"),
            ({"deviceInfo": {"devEui": "0202020202020202"}}, "does not match"),
        ],
    )
    def test_malformed_envelope(self, changes: dict[str, Any], reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            adapter.decode_mqtt(UP_TOPIC, up_with(**changes))

    @pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'"up"', b'{"fPort": 85'])
    def test_not_an_event_object(self, payload: bytes) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_mqtt(UP_TOPIC, payload)


class TestOtherEvents:
    def test_status_event_from_docs(self) -> None:
        reading = adapter.decode_mqtt(STATUS_TOPIC, json.dumps(DOCS_STATUS).encode())[0]
        assert reading.kind == "status"
        assert reading.battery_percent == 88
        assert reading.dedup_key == "bf2a9746-1c8b-49be-a92e-f0b89c8534e4"
        assert reading.event_time == datetime(2022, 7, 18, 9, 35, 6, 927172, tzinfo=UTC)

    def test_external_power_has_no_battery(self) -> None:
        status = {**DOCS_STATUS, "externalPowerSource": True}
        status.pop("batteryLevel")
        assert (
            adapter.decode_mqtt(STATUS_TOPIC, json.dumps(status).encode())[0].battery_percent
            is None
        )

    def test_unavailable_battery_level(self) -> None:
        status = {**DOCS_STATUS, "batteryLevelUnavailable": True}
        assert (
            adapter.decode_mqtt(STATUS_TOPIC, json.dumps(status).encode())[0].battery_percent
            is None
        )

    def test_absent_battery_level_is_zero_per_protobuf_json(self) -> None:
        status = dict(DOCS_STATUS)
        status.pop("batteryLevel")
        assert (
            adapter.decode_mqtt(STATUS_TOPIC, json.dumps(status).encode())[0].battery_percent == 0
        )

    @pytest.mark.parametrize(
        ("event_type", "payload"),
        [
            # join / ack / txack / log examples from the ChirpStack docs (trimmed deviceInfo).
            (
                "join",
                {"deduplicationId": "c9dbe358-2578-4fb7-b295-66b44edc45a6", "devAddr": "00189440"},
            ),
            (
                "ack",
                {
                    "queueItemId": "1bbcab1d-6ec6-4136-b3f5-d63be1dc08de",
                    "acknowledged": True,
                    "fCntDown": 3,
                },
            ),
            ("txack", {"downlinkId": 3461958127, "fCntDown": 2, "gatewayId": "0016c001f153a14c"}),
            (
                "log",
                {
                    "level": "ERROR",
                    "code": "UPLINK_MIC",
                    "description": "MIC of join-request is invalid",
                },
            ),
            (
                "location",
                {"location": {"latitude": 37.344214, "longitude": -8.839375, "altitude": 2}},
            ),
            ("integration", {"integrationName": "loracloud", "eventType": "modem_UplinkResponse"}),
        ],
    )
    def test_non_data_events_are_ignored(self, event_type: str, payload: dict[str, Any]) -> None:
        topic = UP_TOPIC.replace("/event/up", f"/event/{event_type}")
        assert adapter.decode_mqtt(topic, json.dumps(payload).encode()) == []

    def test_downlink_command_topic_is_ignored(self) -> None:
        topic = UP_TOPIC.replace("/event/up", "/command/down")
        assert (
            adapter.decode_mqtt(topic, b'{"devEui":"0101010101010101","fPort":10,"data":"AQ=="}')
            == []
        )

    @pytest.mark.parametrize(
        "topic",
        [
            "application/1/device/0101010101010101/up",  # ChirpStack v3 before 3.11 layout
            "application/1/device/01010101/event/up",  # DevEUI too short
            "application/1/device/zz01010101010101/event/up",
            "gateway/0016c001f153a14c/event/up",
            "",
        ],
    )
    def test_bad_topics(self, topic: str) -> None:
        with pytest.raises(DecodeError):
            adapter.decode_mqtt(topic, json.dumps(DOCS_UP).encode())


UP_KEYS = [
    "deduplicationId",
    "time",
    "deviceInfo",
    "devAddr",
    "fCnt",
    "fPort",
    "data",
    "object",
    "rxInfo",
]


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=60), payload=st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_decode_error(topic: str, payload: bytes) -> None:
    for candidate in (topic, UP_TOPIC, STATUS_TOPIC):
        with contextlib.suppress(DecodeError):
            adapter.decode_mqtt(candidate, payload)


@settings(max_examples=300, deadline=None)
@given(
    message=st.dictionaries(st.sampled_from(UP_KEYS), JSON_VALUES, max_size=7),
    f_port=st.sampled_from([0, 7, 10, 85, 99]),
    data=st.binary(max_size=16),
    profile=st.sampled_from(["WS301", "LDS02", "LDS01", "unknown"]),
    topic=st.sampled_from([UP_TOPIC, STATUS_TOPIC]),
)
def test_arbitrary_events_only_ever_raise_decode_error(
    message: dict[str, Any], f_port: int, data: bytes, profile: str, topic: str
) -> None:
    variants = [
        message,
        {
            **message,
            "fPort": f_port,
            "data": base64.b64encode(data).decode(),
            "deviceInfo": {"deviceProfileName": profile},
        },
    ]
    for variant in variants:
        with contextlib.suppress(DecodeError):
            adapter.decode_mqtt(topic, json.dumps(variant).encode())


@settings(max_examples=300, deadline=None)
@given(f_port=st.integers(min_value=0, max_value=255), data=st.binary(max_size=24))
def test_vendor_decoders_only_ever_raise_decode_error(f_port: int, data: bytes) -> None:
    for decoder in (decode_ws301, decode_lds0x):
        with contextlib.suppress(DecodeError):
            decoder(f_port, data)
