"""China Mobile OneNET HTTP push (数据推送), signed with the token configured on both sides.

URL verification: when the push is configured, OneNET sends
`GET <url>?msg=xxx&nonce=xxx&signature=xxx`; the receiver checks
`signature == base64(md5(token + nonce + msg))` and answers with the bare `msg`
(`verify_url`). Source: OneNET docs "HTTP推送 > 开发指南 > URL验证"
(open.iot.10086.cn/doc/.../httppush/develop-manual.html: "将配置页面中配置的token与nonce、msg
的值计算MD5，并且编码为Base64字符串值"), and OneNET's receiver demo
(`com.onenet.datapush.receiver.Util.checkToken`, which concatenates token, nonce, msg in that
order and Base64-encodes the MD5). Both the demo and the docs compare after URL-decoding, where a
`+` in the Base64 may have become a space; we undo that.

Data push: POST with a JSON body. Two forms exist:

- classic OneNET (multi-protocol / NB-IoT suites): `{"msg": <object or array>,
  "msg_signature": "...", "nonce": "..."}`. The signature is `base64(md5(token + nonce + msg))`
  over the JSON text of `msg` (demo `Util.checkSignature`). We hash `msg` exactly as it appears
  in the body, and accept the compact re-serialisation too since the demo hashes its
  `JSONObject.toString()`. `msg` items:
    - type 1, datapoint: `{"type":1,"dev_id":…,"ds_id":"door","at":<ms>,"value":…}`
      (NB-IoT adds `imei`);
    - type 2, online/offline: `{"type":2,"dev_id":…,"status":1|0,"login_type":…,"at":<ms>}`;
    - type 7, cached-command result (NB-IoT): ignored.
  Encrypted pushes (`enc_msg`) are refused: configure the push in plaintext mode over HTTPS.
- OneNET Studio: `{"msg": "<JSON text>", "signature": "...", "nonce": "...", "time": …,
  "id": "..."}`, signature over the `msg` string (receiver demo as updated in 2020). The inner
  message is `messageType` "notify" (`notifyType` "property" with
  `data.params.<identifier> = {"value": …, "time": <ms>}`, or "event") or "lifeCycle"
  (`data.status` "online"/"offline"); other message types are ignored.

Datastream / property names are chosen by whoever set up the product, so they go through the
common key table: `door`, `door_status`, `door_state`, `magnet_status` (1/true/"open" = open),
`contact` (1/true = contact made = CLOSED), `battery` (%), `battery_voltage`/`voltage` (V or mV),
`battery_low`, `tamper`, `rssi`/`rsrp`. A datapoint of any other stream is kept as a heartbeat.

Device key: classic `dev_id` (numeric, as a string); Studio `deviceName`. The IMEI, when present,
is `hardware_id`. Dedup key: Studio's push `id`; classic `<dev_id>:<ds_id>:<at>` for datapoints
and `<dev_id>:status:<status>:<at>` for online/offline (OneNET re-pushes the same message when it
gets no HTTP 200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shouwang.devices.adapters._common import (
    CommonFields,
    expect_items,
    expect_object,
    fail,
    from_epoch_ms,
    json_type,
    key_string,
    load_json,
    map_common_keys,
    opt_int,
    opt_str,
)
from shouwang.devices.adapters.base import Reading, SignatureError


def _signature(token: str, nonce: str, msg: str) -> str:
    # MD5 is OneNET's choice, not ours; it is what the platform sends.
    # surrogatepass: a JSON body may smuggle in a lone "\ud800"; it must fail the comparison, not
    # raise UnicodeEncodeError.
    text = (token + nonce + msg).encode("utf-8", "surrogatepass")
    digest = hashlib.md5(text).digest()  # noqa: S324
    return base64.b64encode(digest).decode()


def _same_signature(expected: str, received: str) -> bool:
    # A "+" in Base64 arrives as a space when the sender or a proxy form-decoded it.
    received_bytes = received.replace(" ", "+").strip().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode(), received_bytes)


def verify_url(params: Mapping[str, str], token: str) -> str:
    """Answer OneNET's URL verification: return `msg` when `signature` matches, else raise."""
    if not token:
        raise SignatureError("no OneNET token is configured for this endpoint")
    msg, nonce, signature = params.get("msg"), params.get("nonce"), params.get("signature")
    if not msg or not nonce or not signature:
        raise SignatureError("URL verification needs the msg, nonce and signature parameters")
    if not _same_signature(_signature(token, nonce, msg), signature):
        raise SignatureError("URL verification signature does not match the configured token")
    return msg


class OneNetAdapter:
    name = "onenet"

    def decode_http(
        self, body: bytes, headers: Mapping[str, str], config: Mapping[str, str]
    ) -> list[Reading]:
        token = config.get("token") or ""
        if not token:
            raise SignatureError("no OneNET token is configured for this endpoint")
        text = _body_text(body)
        envelope = expect_object(load_json(text, "push body"), "push body")
        if "enc_msg" in envelope:
            fail("encrypted OneNET pushes are not supported; set the push to plaintext (明文) mode")
        if "msg" not in envelope:
            fail("push body has no msg")
        nonce = envelope.get("nonce")
        signature = envelope.get("msg_signature", envelope.get("signature"))
        if not isinstance(nonce, str) or not isinstance(signature, str):
            raise SignatureError("push body needs string nonce and msg_signature/signature fields")
        msg = envelope["msg"]
        candidates = [msg] if isinstance(msg, str) else [_raw_member(text, "msg"), _compact(msg)]
        if not any(
            candidate is not None
            and _same_signature(_signature(token, nonce, candidate), signature)
            for candidate in candidates
        ):
            raise SignatureError("push signature does not match the configured token")

        push_id = opt_str(envelope, "id", "push body") or None
        if isinstance(msg, str):
            msg = load_json(msg, "msg")
        readings: list[Reading] = []
        for index, item in enumerate(expect_items(msg, "msg")):
            what = f"msg[{index}]" if isinstance(msg, list) else "msg"
            reading = (
                self._studio(item, what, push_id)
                if "messageType" in item
                else self._classic(item, what)
            )
            if reading is not None:
                readings.append(reading)
        return readings

    # --- classic OneNET -------------------------------------------------------------------------

    def _classic(self, item: dict[str, Any], what: str) -> Reading | None:
        message_type = opt_int(item, "type", what)
        if message_type == 7:
            return None
        if message_type not in (1, 2):
            fail(
                f"{what}.type must be 1 (datapoint), 2 (online/offline) or 7, got {message_type!r}"
            )
        dev_id = key_string(item.get("dev_id"), f"{what}.dev_id")
        at = item.get("at")
        event_time = None if at is None else from_epoch_ms(at, f"{what}.at")
        imei = item.get("imei")
        hardware_id = imei if isinstance(imei, str) and imei else None
        if message_type == 2:
            status = opt_int(item, "status", what)
            if status not in (0, 1):
                fail(f"{what}.status must be 1 (online) or 0 (offline), got {status!r}")
            return Reading(
                adapter=self.name,
                device_key=dev_id,
                kind="availability",
                event_time=event_time,
                online=status == 1,
                dedup_key=f"{dev_id}:status:{status}:{at}",
                hardware_id=hardware_id,
                raw=item,
            )
        ds_id = item.get("ds_id")
        if not isinstance(ds_id, str) or not ds_id:
            fail(f"{what}.ds_id must be a non-empty string, got {json_type(ds_id)}")
        fields = _datastream_fields(ds_id, item.get("value"), f"{what}.value")
        return _state(
            self.name, dev_id, event_time, fields, f"{dev_id}:{ds_id}:{at}", hardware_id, item
        )

    # --- OneNET Studio --------------------------------------------------------------------------

    def _studio(self, item: dict[str, Any], what: str, push_id: str | None) -> Reading | None:
        message_type = item.get("messageType")
        device_name = item.get("deviceName")
        if message_type not in ("notify", "lifeCycle"):
            return None
        device_key = key_string(device_name, f"{what}.deviceName")
        imei = item.get("imei")
        hardware_id = imei if isinstance(imei, str) and imei else None
        data = expect_object(item.get("data"), f"{what}.data")
        if message_type == "lifeCycle":
            status = data.get("status")
            if status not in ("online", "offline"):
                fail(f"{what}.data.status must be 'online' or 'offline', got {status!r:.40}")
            when = data.get("time")
            return Reading(
                adapter=self.name,
                device_key=device_key,
                kind="availability",
                event_time=None if when is None else from_epoch_ms(when, f"{what}.data.time"),
                online=status == "online",
                dedup_key=push_id,
                hardware_id=hardware_id,
                raw=item,
            )
        params = expect_object(data.get("params"), f"{what}.data.params")
        fields = CommonFields()
        latest: datetime | None = None
        for identifier, entry in params.items():
            where = f"{what}.data.params.{identifier}"
            point = expect_object(entry, where)
            when = point.get("time")
            if when is not None:
                moment = from_epoch_ms(when, f"{where}.time")
                latest = moment if latest is None else max(latest, moment)
            _merge(fields, _datastream_fields(identifier, point.get("value"), f"{where}.value"))
        return _state(self.name, device_key, latest, fields, push_id, hardware_id, item)


def _datastream_fields(name: str, value: Any, what: str) -> CommonFields:
    """One named value (a classic datastream or a Studio property / event)."""
    if isinstance(value, dict):
        # A structured stream, or a Studio event whose members carry the facts: {"tamper": 1}.
        return map_common_keys(value, what)
    return map_common_keys({name: value}, what.rsplit(".", 1)[0])


def _merge(into: CommonFields, other: CommonFields) -> None:
    for attribute in ("door", "tamper", "battery_low", "battery_percent", "battery_mv", "signal"):
        value = getattr(other, attribute)
        if value is not None:
            setattr(into, attribute, value)


def _state(
    adapter_name: str,
    device_key: str,
    event_time: datetime | None,
    fields: CommonFields,
    dedup_key: str | None,
    hardware_id: str | None,
    raw: dict[str, Any],
) -> Reading:
    return Reading(
        adapter=adapter_name,
        device_key=device_key,
        kind="state",
        event_time=event_time,
        door=fields.door,
        battery_percent=fields.battery_percent,
        battery_mv=fields.battery_mv,
        battery_low=fields.battery_low,
        tamper=fields.tamper,
        signal=fields.signal,
        dedup_key=dedup_key,
        hardware_id=hardware_id,
        raw=raw,
    )


def _body_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        fail("push body is not UTF-8 text")


def _raw_member(text: str, name: str) -> str | None:
    """The exact JSON text of a top-level member of the object in `text`, as sent.

    The signature covers `msg` byte for byte, and Python's json module cannot tell us where a
    value was in the input; a top-level scan with `raw_decode` can.
    """
    decoder = json.JSONDecoder()
    found: str | None = None
    index = _skip_space(text, 0)
    if index >= len(text) or text[index] != "{":
        return None
    index += 1
    try:
        while True:
            index = _skip_space(text, index)
            if index < len(text) and text[index] == "}":
                return found
            key, index = decoder.raw_decode(text, index)
            index = _skip_space(text, index)
            if index >= len(text) or text[index] != ":":
                return None
            start = _skip_space(text, index + 1)
            _, end = decoder.raw_decode(text, start)
            if key == name:
                # Keep the last one: json.loads keeps the last duplicate too, and the signature
                # must cover the value we go on to read, not an earlier decoy.
                found = text[start:end]
            index = _skip_space(text, end)
            if index < len(text) and text[index] == "}":
                return found
            if index >= len(text) or text[index] != ",":
                return None
            index += 1
    except (ValueError, RecursionError):
        return None


def _compact(value: Any) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return None


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


adapter = OneNetAdapter()
