"""The ingest path: normalised readings in, events stored, device state and health updated.

A reader follows a batch through these modules, in this order:

- `batch`: `ingest(items, transport)`, the orchestration. A whole batch (an HTTP push, or what
  the MQTT bridge collected in a few milliseconds) is one transaction with a fixed number of
  queries, whatever its size: devices of the batch (1), devices never seen before (insert +
  fetch), existing dedup keys (1), the events, the changed devices and health events. Nothing
  queries per event. Then `devices.pipeline.run(result)` hands the batch to the steps the
  upper apps registered (the alert rules), in the same transaction.
- `records`: the plain records a batch is made of (`Incoming`, `DeviceState`, `StoredEvent`,
  `StoredHealth`, `IngestResult`). No model instance per event or per device: the ORM's
  per-object work cost several times what the database spends storing a batch.
- `state`: the device state machine (door, battery, tamper, offline/online) for one reading.
- `store_sqlite`, `store_postgresql`: the hand-written SQL, one module per database; the rows
  written are exactly what the ORM would write (`columns` derives them from the models).
- `dead_letters`: messages that could not be taken in, kept for a person to see.
- `offline`: the periodic side: devices silent past their timeout go offline.

On SQLite, batches from the web server are written by the process's one writer thread
(`shouwang.core.sqlite.writer`).

Idempotent: a reading whose dedup key is already stored is dropped; a reading without one
(Zigbee2MQTT has no message ids) is dropped when it repeats the device's last message
exactly, which is what a broker's redelivery looks like. Out of order: an event older than the
device's state is stored, marked stale, and changes nothing.
"""

from shouwang.devices.services.ingest.batch import MAX_DEDUP_KEY_LENGTH, MAX_KEY_LENGTH, ingest
from shouwang.devices.services.ingest.dead_letters import record_dead_letter
from shouwang.devices.services.ingest.offline import mark_offline, offline_after
from shouwang.devices.services.ingest.records import (
    DeviceState,
    Incident,
    Incoming,
    IngestResult,
    StoredEvent,
    StoredHealth,
    raw_hash,
)
from shouwang.devices.services.ingest.redelivery import REDELIVERY_WINDOW
from shouwang.devices.services.ingest.state import DEFAULT_LOW_BATTERY_PERCENT

__all__ = [
    "DEFAULT_LOW_BATTERY_PERCENT",
    "MAX_DEDUP_KEY_LENGTH",
    "MAX_KEY_LENGTH",
    "REDELIVERY_WINDOW",
    "DeviceState",
    "Incident",
    "Incoming",
    "IngestResult",
    "StoredEvent",
    "StoredHealth",
    "ingest",
    "mark_offline",
    "offline_after",
    "raw_hash",
    "record_dead_letter",
]
