"""The MQTT wire, where the bridge goes below aiomqtt: its own parser for the common PUBLISH, an
inbox the paho client fills as it reads, and PUBACKs written together after a commit.

aiomqtt's per-message path (a paho MQTTMessage with its MQTT 5 Properties object, an aiomqtt
Message and Topic, an asyncio queue and a task per await) cost more than storing the message.
The common PUBLISH (QoS 0 or 1, no MQTT 5 properties, a topic that is valid UTF-8) is parsed
by `parse_publish`; any other goes through paho as before. This reaches into paho's internals
(`_handle_publish`, `_in_packet`, `_packet_queue`), which is why pyproject pins paho below 2.3
and `fast_path()` checks they are there: without them the bridge falls back to paho's own
parsing and says so in its start-up log. tests/devices/test_mqtt_wire.py checks the parser
against paho's on generated packets.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

# PUBACK for a message id: the short form MQTT 5 allows for success without properties.
_PUBACK = struct.Struct("!BBH")
# PUBLISH fixed-header flags.
_DUP = 0x08
_QOS = 0x06

T = TypeVar("T")


class Received(NamedTuple):
    """One MQTT message as the bridge takes it from the broker."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    # The broker says it may have sent this message before (MQTT's DUP flag).
    dup: bool = False


def parse_publish(header: int, data: bytes | bytearray) -> Received | None:
    """A PUBLISH packet's variable header and payload (`data`, MQTT 5), or None when it is not
    the common kind this parser takes (QoS 2, MQTT 5 properties, an empty topic: a topic alias,
    a topic that is not UTF-8, a malformed packet): paho parses those."""
    qos = (header & _QOS) >> 1
    if len(data) < 2:
        return None
    topic_end = 2 + int.from_bytes(data[:2], "big")
    properties = topic_end + 2 if qos else topic_end
    if qos > 1 or topic_end == 2 or properties >= len(data) or data[properties] != 0:
        return None
    try:
        topic = data[2:topic_end].decode()
    except UnicodeDecodeError:
        return None
    mid = (data[topic_end] << 8 | data[topic_end + 1]) if qos else 0
    return Received(topic, bytes(data[properties + 1 :]), qos, mid, bool(header & _DUP))


def fast_path(client: paho.Client) -> str:
    """Why the bridge's own parser cannot be used with this client, or "" when it can."""
    if not client._manual_ack:
        # paho would not acknowledge what we take past it: only with manual acknowledgements.
        return "manual acknowledgements are off"
    if client._protocol != paho.MQTTv5:
        # The properties length the parser looks at exists only in MQTT 5.
        return "the protocol is not MQTT 5"
    for name in ("_handle_publish", "_in_packet", "_packet_queue"):
        if not hasattr(client, name):
            return f"this paho-mqtt has no {name}"
    return ""


class Inbox(Generic[T]):
    """Where the paho client puts the messages it reads, decoded; the bridge takes them in
    batches. Both paths (ours and paho's `on_message`) run on the event loop's thread, where
    aiomqtt reads the socket, and so does `decode`: messages are decoded as they arrive, while
    the worker thread is storing the previous batch."""

    def __init__(self, client: paho.Client, decode: Callable[[Received], T]) -> None:
        self.items: deque[T] = deque()
        self._decode = decode
        self._client = client
        self._waiter: asyncio.Future[None] | None = None
        self._paho_handle_publish: Callable[[], MQTTErrorCode] = client._handle_publish
        client.on_message = self._on_message
        self.fast_path_off = fast_path(client)
        if not self.fast_path_off:
            client._handle_publish = self._handle_publish  # type: ignore[method-assign]

    def wait(self) -> asyncio.Future[None]:
        """A future done when a message arrives."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def take(self, most: int) -> list[T]:
        items = self.items
        if len(items) <= most:
            batch = list(items)
            items.clear()
            return batch
        return [items.popleft() for _ in range(most)]

    def _add(self, message: Received) -> None:
        self.items.append(self._decode(message))
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._client._in_packet
        message = parse_publish(packet["command"], packet["packet"])
        if message is None:
            return self._paho_handle_publish()
        self._add(message)
        # Not acknowledged: manual ack, after the commit.
        return paho.MQTT_ERR_SUCCESS

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        self._add(
            Received(message.topic, bytes(message.payload), message.qos, message.mid, message.dup)
        )


def acknowledge(client: paho.Client, messages: Sequence[Received]) -> None:
    """PUBACKs in the order the messages came (as MQTT requires), written together."""
    pubacks = bytearray()
    for message in messages:
        if message.qos == 1:
            pubacks += _PUBACK.pack(paho.PUBACK, 2, message.mid)
        elif message.qos == 2:
            _queue(client, pubacks)
            pubacks = bytearray()
            code = client.ack(message.mid, message.qos)
            if code != paho.MQTT_ERR_SUCCESS:
                raise aiomqtt.MqttCodeError(code, "could not acknowledge a message")
    _queue(client, pubacks)


def _queue(client: paho.Client, packets: bytearray) -> None:
    # paho writes what it queued as one stream of bytes: several PUBACKs go out as one write.
    if packets:
        code = client._packet_queue(paho.PUBACK, bytes(packets), 0, 0)
        if code != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(code, "could not acknowledge a message")
