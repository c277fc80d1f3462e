"""The MQTT ingest bridge: broker messages in, committed events out, acknowledged after commit.

One asyncio task keeps a persistent MQTT 5 session (clean_start off, a session expiry interval,
QoS 1 subscriptions), so messages published while the bridge is down wait at the broker and
arrive when it comes back. Each message is acknowledged (PUBACK) only after the transaction that
stored it has committed: paho-mqtt's manual ack, reached through aiomqtt's paho client until
aiomqtt exposes it (aiomqtt issue #345). A crash between receipt and commit, or between commit
and acknowledgement, makes the broker deliver the message again; the ingest path's dedup keys
(and, for Zigbee2MQTT, "same as the device's last message") store it once.

Batching never waits on a timer: each message is parsed and decoded by its adapter as it
arrives (on the event loop's thread, bypassing aiomqtt's per-message machinery), the first one
starts a batch, whatever else has already arrived joins it (up to SHOUWANG_MQTT_BATCH_MAX), the
batch is stored in one `ingest()` call on a dedicated worker thread (the ORM is synchronous) that
keeps its database connection, and then its PUBACKs are written together. One message alone goes
through in about a millisecond; under load the batches grow by themselves (and are decoded)
while the previous one commits.

Bad input never stops the stream: a message on a topic no adapter is configured for, or one its
adapter cannot decode, becomes a dead letter and is acknowledged with its batch. A database that
is down is not bad input: the batch is retried with backoff and stays unacknowledged meanwhile.
A batch that keeps failing for another reason is split up, message by message, so that one
message the database refuses (a value too long for its column, say) becomes a dead letter
instead of blocking every message behind it.

The modules, by job:

- `config`: SHOUWANG_MQTT_* read and checked into `BridgeSettings` and its routes.
- `wire`: the MQTT wire below aiomqtt: our own PUBLISH parser, the inbox, batched PUBACKs.
- `bridge`: the session, batching, commit with retries, acknowledgement.

Running it in a process (`shouwang ingest` alone, or beside the web server in `shouwang serve`)
is the runtime app's job: `shouwang/runtime/hosting.py`.
"""

from shouwang.devices.mqtt_bridge.bridge import (
    ISOLATE_AFTER,
    TRANSPORT,
    UNROUTED,
    Bridge,
    BridgeStats,
    backoff,
)
from shouwang.devices.mqtt_bridge.config import (
    DEFAULT_TOPICS,
    BridgeSettings,
    Route,
    configured,
    parse_topics,
    parse_url,
)
from shouwang.devices.mqtt_bridge.wire import Received, parse_publish

__all__ = [
    "DEFAULT_TOPICS",
    "ISOLATE_AFTER",
    "TRANSPORT",
    "UNROUTED",
    "Bridge",
    "BridgeSettings",
    "BridgeStats",
    "Received",
    "Route",
    "backoff",
    "configured",
    "parse_publish",
    "parse_topics",
    "parse_url",
]
