"""The bridge's own PUBLISH parser against paho's, on generated packets: whatever ours takes, it
reads exactly as paho does; whatever it declines is one paho must parse (QoS 2, MQTT 5
properties, topic aliases, topics that are not UTF-8). No broker needed."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shouwang.devices.mqtt_bridge.wire import Inbox, Received, fast_path, parse_publish

PUBLISH = 0x30


def publish_packet(
    topic: bytes, payload: bytes, qos: int, mid: int, dup: bool, retain: bool, props: bytes
) -> tuple[int, bytes]:
    """A PUBLISH as it comes off the wire (fixed header byte; the rest after the length)."""
    header = PUBLISH | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    return header, body + props + payload


def properties(content_type: str | None, expiry: int | None, alias: int | None) -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if content_type is not None:
        props.ContentType = content_type
    if expiry is not None:
        props.MessageExpiryInterval = expiry
    if alias is not None:
        props.TopicAlias = alias
    packed: bytes = props.pack()  # type: ignore[no-untyped-call]
    return packed


topics = st.one_of(
    st.text(min_size=0, max_size=40).map(str.encode),
    st.binary(max_size=40),  # not always UTF-8
    st.sampled_from([b"zigbee2mqtt/\xe9\x97\xa8\xe7\xa3\x81", b"a/b/c", b"\xff\xfe", b"x\x00y"]),
)
props = st.one_of(
    st.just(b"\x00"),
    st.builds(
        properties,
        # paho refuses NUL in a property's string (MQTT 5 forbids it).
        st.none() | st.text(st.characters(exclude_characters="\x00"), max_size=10),
        st.none() | st.integers(0, 2**32 - 1),
        st.none() | st.integers(1, 65535),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    topic=topics,
    payload=st.binary(max_size=300),
    qos=st.integers(0, 2),
    mid=st.integers(1, 65535),
    dup=st.booleans(),
    retain=st.booleans(),
    props=props,
)
def test_parser_agrees_with_paho(
    topic: bytes, payload: bytes, qos: int, mid: int, dup: bool, retain: bool, props: bytes
) -> None:
    header, data = publish_packet(topic, payload, qos, mid, dup, retain, props)
    theirs = _packet.decode_publish(header, data, MQTTProtocolVersion.MQTTv5)
    ours = parse_publish(header, data)
    if ours is None:
        # Declined: only what is not the common kind.
        assert qos == 2 or props != b"\x00" or topic == b"" or not _is_utf8(topic)
        return
    assert props == b"\x00"
    assert qos < 2
    assert topic
    assert ours.topic.encode() == theirs.topic
    assert ours.payload == theirs.payload
    assert ours.qos == theirs.qos
    assert ours.mid == theirs.mid
    assert ours.dup == theirs.dup


@settings(max_examples=400, deadline=None)
@given(header=st.integers(0x30, 0x3F), data=st.binary(max_size=64))
def test_whatever_the_parser_takes_from_garbage_paho_reads_the_same(
    header: int, data: bytes
) -> None:
    ours = parse_publish(header, data)
    if ours is None:
        return
    theirs = _packet.decode_publish(header, data, MQTTProtocolVersion.MQTTv5)
    assert (ours.topic.encode(), ours.payload, ours.qos, ours.mid, ours.dup) == (
        theirs.topic,
        theirs.payload,
        theirs.qos,
        theirs.mid,
        theirs.dup,
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_inbox_takes_common_publishes_itself_and_leaves_the_rest_to_paho() -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.manual_ack_set(True)
    inbox: Inbox[Received] = Inbox(client, lambda message: message)
    assert inbox.fast_path_off == ""
    for header, data in [
        publish_packet(b"t/1", b"one", 1, 7, False, False, b"\x00"),
        publish_packet(b"t/2", b"two", 1, 8, True, False, properties("json", None, None)),
        publish_packet(b"t/3", b"three", 0, 0, False, False, b"\x00"),
    ]:
        client._in_packet = {"command": header, "packet": bytearray(data)}  # type: ignore[assignment]
        assert client._handle_publish() == paho.MQTT_ERR_SUCCESS
    assert list(inbox.items) == [
        Received("t/1", b"one", 1, 7, False),
        Received("t/2", b"two", 1, 8, True),  # through paho's on_message
        Received("t/3", b"three", 0, 0, False),
    ]


@pytest.mark.parametrize(
    ("manual_ack", "protocol", "reason"),
    [(False, paho.MQTTv5, "manual acknowledgements"), (True, paho.MQTTv311, "MQTT 5")],
)
def test_fast_path_is_off_where_it_would_be_wrong(
    manual_ack: bool, protocol: paho.MQTTProtocolVersion, reason: str
) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=protocol)
    client.manual_ack_set(manual_ack)
    assert reason in fast_path(client)
    inbox: Inbox[Received] = Inbox(client, lambda message: message)
    assert reason in inbox.fast_path_off
    assert client._handle_publish != inbox._handle_publish
