"""OneNET HTTP push adapter: URL verification, signed pushes, classic and Studio messages.

Signature test vectors below were computed once, outside this code, as
base64(md5(token + nonce + msg)) — the algorithm in OneNET's HTTP push developer guide and in its
receiver demo (com.onenet.datapush.receiver.Util). The token is the one in that demo.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters.base import DecodeError, SignatureError
from shouwang.devices.adapters.onenet import adapter, verify_url
from tests.devices.json_strategies import JSON_VALUES

TOKEN = "5ec78dbca0db5a7e49b603fe"
CONFIG = {"token": TOKEN}

# Modelled on a push logged by a OneNET receiver on GitHub
# ({"msg":{"at":1508948943731,"type":1,"ds_id":"W","value":0,"dev_id":19959358},...}),
# with the datastream renamed to "door" and re-signed with TOKEN.
DOOR_MSG = '{"at":1508948943731,"type":1,"ds_id":"door","value":1,"dev_id":19959358}'
DOOR_BODY = (
    '{"msg":' + DOOR_MSG + ',"msg_signature":"Cb40mpfcUJu6NQbfumBpcA==","nonce":"?@H&9p9E"}'
).encode()
# Modelled on an NB-IoT push logged on GitHub (type 1 with imei, nonce "O9JpI(1o").
BATTERY_MSG = (
    '{"at":1556504219767,"imei":"867726030123456","type":1,"ds_id":"battery","value":87,'
    '"dev_id":524552229}'
)
BATTERY_BODY = (
    '{"msg":' + BATTERY_MSG + ',"msg_signature":"8c4zVorzQj75XwvNUL+XuA==","nonce":"O9JpI(1o"}'
).encode()
# Online/offline (type 2) in the field layout of the developer guide.
OFFLINE_MSG = '{"at":1556504219000,"login_type":10,"type":2,"dev_id":524552229,"status":0}'
OFFLINE_BODY = (
    '{"msg":' + OFFLINE_MSG + ',"msg_signature":"bmk2BZDLWd0E/RIJr7+T8Q==","nonce":"Xy7&pq2Z"}'
).encode()
# The logged push itself, verbatim: signed with a token we do not know.
FOREIGN_BODY = (
    b'{"msg":{"at":1508948943731,"type":1,"ds_id":"W","value":0,"dev_id":19959358},'
    b'"msg_signature":"i20/b74tIJvqMFek6q9Ffw==","nonce":"?@H&9p9E"}'
)


def sign(msg: str, nonce: str = "Ab3$eF7g", token: str = TOKEN) -> str:
    text = (token + nonce + msg).encode("utf-8", "surrogatepass")
    digest = hashlib.md5(text).digest()  # noqa: S324 - OneNET's algorithm
    return base64.b64encode(digest).decode()


def classic_body(msg: Any, nonce: str = "Ab3$eF7g") -> bytes:
    text = json.dumps(msg, separators=(",", ":"))
    return json.dumps({"msg": msg, "msg_signature": sign(text, nonce), "nonce": nonce}).encode()


def studio_body(
    inner: dict[str, Any], push_id: str = "a5d1c9e07a4c4b0e9d1f", nonce: str = "Zq81mNop"
) -> bytes:
    text = json.dumps(inner, ensure_ascii=False)
    return json.dumps(
        {
            "msg": text,
            "signature": sign(text, nonce),
            "nonce": nonce,
            "time": 1716532200123,
            "id": push_id,
        }
    ).encode()


def decode(body: bytes, config: dict[str, str] = CONFIG) -> list[Any]:
    return adapter.decode_http(body, {"Content-Type": "application/json"}, config)


class TestUrlVerification:
    def test_returns_msg_when_signature_matches(self) -> None:
        params = {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qZ", "signature": "AB6T7+WskA23sBJCuMGL8Q=="}
        assert verify_url(params, TOKEN) == "8fh2Kd0sLq"

    def test_plus_turned_into_space_by_form_decoding(self) -> None:
        params = {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qZ", "signature": "AB6T7 WskA23sBJCuMGL8Q=="}
        assert verify_url(params, TOKEN) == "8fh2Kd0sLq"

    @pytest.mark.parametrize(
        "params",
        [
            {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qZ", "signature": "AB6T7+WskA23sBJCuMGL8A=="},
            {"msg": "8fh2Kd0sLQ", "nonce": "hJ3kL9qZ", "signature": "AB6T7+WskA23sBJCuMGL8Q=="},
            {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qz", "signature": "AB6T7+WskA23sBJCuMGL8Q=="},
            {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qZ"},
            {},
        ],
    )
    def test_refuses_bad_or_missing_signature(self, params: dict[str, str]) -> None:
        with pytest.raises(SignatureError):
            verify_url(params, TOKEN)

    def test_wrong_token(self) -> None:
        params = {"msg": "8fh2Kd0sLq", "nonce": "hJ3kL9qZ", "signature": "AB6T7+WskA23sBJCuMGL8Q=="}
        with pytest.raises(SignatureError):
            verify_url(params, "another-token")

    def test_no_token_configured(self) -> None:
        with pytest.raises(SignatureError, match="no OneNET token"):
            verify_url({"msg": "a", "nonce": "b", "signature": "c"}, "")


class TestClassicPush:
    def test_door_datapoint(self) -> None:
        (reading,) = decode(DOOR_BODY)
        assert reading.door == "open"
        assert reading.kind == "state"
        assert reading.device_key == "19959358"
        assert reading.event_time == datetime(2017, 10, 25, 16, 29, 3, 731000, tzinfo=UTC)
        assert reading.dedup_key == "19959358:door:1508948943731"
        assert reading.adapter == "onenet"

    def test_nb_iot_datapoint_with_imei(self) -> None:
        (reading,) = decode(BATTERY_BODY)
        assert reading.battery_percent == 87
        assert reading.hardware_id == "867726030123456"
        assert reading.device_key == "524552229"

    def test_offline(self) -> None:
        (reading,) = decode(OFFLINE_BODY)
        assert reading.kind == "availability"
        assert reading.online is False
        assert reading.dedup_key == "524552229:status:0:1556504219000"

    def test_online(self) -> None:
        msg = {"at": 1556504219000, "login_type": 7, "type": 2, "dev_id": 524552229, "status": 1}
        (reading,) = decode(classic_body(msg))
        assert reading.online is True

    def test_batch_of_datapoints(self) -> None:
        msg = [
            {"at": 1716532200000, "type": 1, "ds_id": "contact", "value": 1, "dev_id": 600001},
            {"at": 1716532200000, "type": 1, "ds_id": "tamper", "value": 0, "dev_id": 600001},
            {
                "at": 1716532200000,
                "type": 1,
                "ds_id": "battery_voltage",
                "value": 2.95,
                "dev_id": 600001,
            },
        ]
        readings = decode(classic_body(msg))
        # "contact" polarity: 1 = contact made = closed.
        assert [reading.door for reading in readings] == ["closed", None, None]
        assert readings[1].tamper is False
        assert readings[2].battery_mv == 2950

    def test_unknown_stream_is_a_heartbeat(self) -> None:
        msg = {
            "at": 1716532200000,
            "type": 1,
            "ds_id": "temperature",
            "value": 21.5,
            "dev_id": 600001,
        }
        (reading,) = decode(classic_body(msg))
        assert reading.door is None
        assert reading.kind == "state"

    def test_structured_stream_value(self) -> None:
        msg = {
            "at": 1716532200000,
            "type": 1,
            "ds_id": "sensor",
            "value": {"door": "closed"},
            "dev_id": 1,
        }
        assert decode(classic_body(msg))[0].door == "closed"

    def test_command_result_is_ignored(self) -> None:
        msg = {"at": 1716532200000, "type": 7, "cmd_type": 1, "cmd_id": "e7b1", "dev_id": 600001}
        assert decode(classic_body(msg)) == []

    def test_pretty_printed_msg_is_verified_as_sent(self) -> None:
        pretty = (
            '{\n  "at": 1716532200000,\n  "type": 1,\n  "ds_id": "door",\n'
            '  "value": 0,\n  "dev_id": 7\n}'
        )
        body = (
            '{"msg": ' + pretty + ', "msg_signature": "' + sign(pretty) + '", "nonce": "Ab3$eF7g"}'
        ).encode()
        assert decode(body)[0].door == "closed"

    def test_string_msg(self) -> None:
        text = json.dumps(
            {"at": 1716532200000, "type": 1, "ds_id": "door", "value": "open", "dev_id": 9}
        )
        body = json.dumps({"msg": text, "msg_signature": sign(text), "nonce": "Ab3$eF7g"}).encode()
        assert decode(body)[0].door == "open"


class TestSignature:
    def test_logged_push_signed_with_another_token_is_refused(self) -> None:
        with pytest.raises(SignatureError):
            decode(FOREIGN_BODY)

    def test_tampered_value(self) -> None:
        with pytest.raises(SignatureError):
            decode(DOOR_BODY.replace(b'"value":1', b'"value":0'))

    def test_decoy_duplicate_msg(self) -> None:
        # json.loads keeps the last "msg"; the signature must be checked against that one.
        forged = (
            DOOR_BODY[:-1]
            + b',"msg":{"at":1508948943731,"type":1,"ds_id":"door","value":0,"dev_id":1}}'
        )
        with pytest.raises(SignatureError):
            decode(forged)

    def test_plus_as_space_in_msg_signature(self) -> None:
        body = BATTERY_BODY.replace(b"8c4zVorzQj75XwvNUL+XuA==", b"8c4zVorzQj75XwvNUL XuA==")
        assert decode(body)[0].battery_percent == 87

    @pytest.mark.parametrize("config", [{}, {"token": ""}])
    def test_no_token_configured(self, config: dict[str, str]) -> None:
        with pytest.raises(SignatureError, match="no OneNET token"):
            decode(DOOR_BODY, config)

    @pytest.mark.parametrize(
        "body",
        [
            b'{"msg":{"type":1},"nonce":"Ab3$eF7g"}',
            b'{"msg":{"type":1},"msg_signature":"x"}',
            b'{"msg":{"type":1},"msg_signature":5,"nonce":"Ab3$eF7g"}',
        ],
    )
    def test_missing_signature_fields(self, body: bytes) -> None:
        with pytest.raises(SignatureError):
            decode(body)

    @pytest.mark.parametrize("field", ["nonce", "msg_signature"])
    def test_lone_surrogate_escape_is_a_signature_error(self, field: str) -> None:
        envelope = json.loads(DOOR_BODY)
        envelope[field] = "\ud800abc"
        with pytest.raises(SignatureError):
            decode(json.dumps(envelope).encode())

    def test_lone_surrogate_in_url_verification(self) -> None:
        with pytest.raises(SignatureError):
            verify_url({"msg": "\udcff", "nonce": "n", "signature": "\ud800"}, TOKEN)

    def test_signature_errors_are_decode_errors(self) -> None:
        assert issubclass(SignatureError, DecodeError)


class TestStudioPush:
    def test_property_notify(self) -> None:
        # Message layout from OneNET Studio's "消息源格式" (device property report).
        inner = {
            "projectId": "990909090",
            "productId": "Q8x2kL0pZs",
            "deviceName": "door-01",
            "messageType": "notify",
            "notifyType": "property",
            "imei": "509830501643080",
            "data": {
                "id": "12345",
                "params": {
                    "door_state": {"value": 0, "time": 1716532200000},
                    "battery": {"value": 76, "time": 1716532200000},
                    "rssi": {"value": -71, "time": 1716532201000},
                },
            },
        }
        (reading,) = decode(studio_body(inner))
        assert reading.device_key == "door-01"
        assert reading.door == "closed"
        assert reading.battery_percent == 76
        assert reading.signal == -71
        assert reading.hardware_id == "509830501643080"
        assert reading.dedup_key == "a5d1c9e07a4c4b0e9d1f"
        assert reading.event_time == datetime(2024, 5, 24, 6, 30, 1, tzinfo=UTC)

    def test_event_notify(self) -> None:
        inner = {
            "productId": "Q8x2kL0pZs",
            "deviceName": "door-01",
            "messageType": "notify",
            "notifyType": "event",
            "data": {
                "id": "123",
                "params": {"tamper": {"value": {"tamper": 1}, "time": 1716532200000}},
            },
        }
        (reading,) = decode(studio_body(inner))
        assert reading.tamper is True

    def test_life_cycle(self) -> None:
        inner = {
            "productId": "Q8x2kL0pZs",
            "deviceName": "door-01",
            "messageType": "lifeCycle",
            "data": {"status": "online", "time": 1716532200000},
        }
        (reading,) = decode(studio_body(inner))
        assert reading.kind == "availability"
        assert reading.online is True

    def test_non_ascii_device_name(self) -> None:
        inner = {
            "productId": "Q8x2kL0pZs",
            "deviceName": "东门-门磁01",
            "messageType": "lifeCycle",
            "data": {"status": "offline", "time": 1716532200000},
        }
        (reading,) = decode(studio_body(inner))
        assert reading.device_key == "东门-门磁01"
        assert reading.online is False

    def test_other_studio_messages_are_ignored(self) -> None:
        inner = {
            "projectId": "990909090",
            "messageType": "sceneLog",
            "data": {"time": 1592467938974},
        }
        assert decode(studio_body(inner)) == []

    def test_tampered_studio_msg(self) -> None:
        body = studio_body(
            {"deviceName": "d", "messageType": "lifeCycle", "data": {"status": "online"}}
        )
        with pytest.raises(SignatureError):
            decode(body.replace(b"online", b"offline"))

    @pytest.mark.parametrize(
        ("inner", "reason"),
        [
            ({"deviceName": "d", "messageType": "lifeCycle", "data": {"status": "up"}}, "status"),
            (
                {"deviceName": "", "messageType": "lifeCycle", "data": {"status": "online"}},
                "deviceName",
            ),
            ({"deviceName": "d", "messageType": "notify", "data": {"params": []}}, "params"),
            ({"deviceName": "d", "messageType": "notify", "data": None}, "data"),
            ({"deviceName": "d", "messageType": "notify", "data": {"params": {"door": 1}}}, "door"),
            (
                {
                    "deviceName": "d",
                    "messageType": "notify",
                    "data": {"params": {"door": {"value": "ajar"}}},
                },
                "door",
            ),
        ],
    )
    def test_malformed_studio_messages(self, inner: dict[str, Any], reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            decode(studio_body(inner))


class TestMalformed:
    @pytest.mark.parametrize(
        ("msg", "reason"),
        [
            ({"at": 1716532200000, "type": 3, "dev_id": 1}, "type"),
            ({"at": 1716532200000, "dev_id": 1}, "type"),
            (
                {"at": 1716532200000, "type": 1, "ds_id": "door", "value": "ajar", "dev_id": 1},
                "door",
            ),
            ({"at": 1716532200000, "type": 1, "ds_id": "", "value": 1, "dev_id": 1}, "ds_id"),
            ({"at": 1716532200000, "type": 1, "ds_id": "door", "value": 1}, "dev_id"),
            ({"at": "now", "type": 1, "ds_id": "door", "value": 1, "dev_id": 1}, "at"),
            ({"at": 1716532200000, "type": 2, "status": 3, "dev_id": 1}, "status"),
            ([1, 2], "msg"),
        ],
    )
    def test_signed_but_malformed(self, msg: Any, reason: str) -> None:
        with pytest.raises(DecodeError, match=reason):
            decode(classic_body(msg))

    @pytest.mark.parametrize(
        "body", [b"", b"not json", b"[]", b'"msg"', b'{"nonce":"x"}', b"\xff\xfe"]
    )
    def test_not_a_push(self, body: bytes) -> None:
        with pytest.raises(DecodeError):
            decode(body)

    def test_encrypted_push_is_refused(self) -> None:
        body = b'{"enc_msg":"q83vEjRWeJA=","msg_signature":"x","nonce":"Ab3$eF7g"}'
        with pytest.raises(DecodeError, match="encrypted"):
            decode(body)


MSG_KEYS = [
    "type",
    "dev_id",
    "ds_id",
    "at",
    "value",
    "status",
    "imei",
    "messageType",
    "deviceName",
    "data",
]


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), token=st.text(max_size=10))
def test_arbitrary_bytes_only_ever_raise_decode_error(body: bytes, token: str) -> None:
    with contextlib.suppress(DecodeError):
        decode(body, {"token": token})


@settings(max_examples=300, deadline=None)
@given(
    msg=st.dictionaries(st.sampled_from(MSG_KEYS), JSON_VALUES, max_size=7),
    type_=st.sampled_from([1, 2, 7]),
    ds_id=st.sampled_from(["door", "contact", "battery", "tamper", "voltage", "rssi", "x"]),
    as_list=st.booleans(),
)
def test_signed_arbitrary_messages_only_ever_raise_decode_error(
    msg: dict[str, Any], type_: int, ds_id: str, as_list: bool
) -> None:
    shaped = {**msg, "type": type_, "ds_id": ds_id, "dev_id": 1}
    for candidate in (msg, shaped):
        payload: Any = [candidate] if as_list else candidate
        for body in (classic_body(payload), studio_body({**candidate, "messageType": "notify"})):
            with contextlib.suppress(DecodeError):
                decode(body)


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(st.sampled_from(["msg", "nonce", "signature"]), st.text(max_size=20)))
def test_verify_url_only_ever_raises_signature_error(params: dict[str, str]) -> None:
    with contextlib.suppress(SignatureError):
        assert verify_url(params, TOKEN) == params["msg"]
