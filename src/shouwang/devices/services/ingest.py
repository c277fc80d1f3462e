"""The ingest path: normalised readings in, events stored, device state and health updated.

Built for the hot path: a whole batch (an HTTP push, or what the MQTT bridge collected in a
few milliseconds) is one transaction with a fixed number of queries, whatever its size:
devices of the batch (1), devices never seen before (insert + fetch), existing dedup keys
(1), the events (PostgreSQL: one INSERT from a JSON document; SQLite: one executemany and two
id look-ups), the changed devices (PostgreSQL: lock + one UPDATE; SQLite: one executemany)
and health events (bulk insert). Nothing here queries per event. On SQLite, batches from the
web server are written by one long-lived thread of the process (see `_use_writer`).

Nor does it build a model instance per event or per device: devices are read as plain rows
into `DeviceState`, events are kept as `StoredEvent`, and the SQL is written out here, because
the ORM's per-object work (Model.__init__, field preparation, SQL compilation) cost several
times what the database spends storing a batch. The rows written are exactly what the ORM
would write.

Idempotent: a reading whose dedup key is already stored is dropped; a reading without one
(Zigbee2MQTT has no message ids) is dropped when it repeats the device's last message
exactly, which is what a broker's redelivery looks like. Out of order: an event older than the
device's state is stored, marked stale, and changes nothing.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, JSONField
from django.utils import timezone
from django.utils.module_loading import import_string

from shouwang.core.models import Area
from shouwang.devices.adapters import Reading
from shouwang.devices.models import (
    DeadLetter,
    Device,
    DeviceEvent,
    DeviceKind,
    DeviceStatus,
    HealthEvent,
    HealthKind,
)

# A keyless message identical to the device's previous one within this window is a redelivery.
REDELIVERY_WINDOW = timedelta(minutes=10)
DEFAULT_LOW_BATTERY_PERCENT = 20
MAX_KEY_LENGTH = 200  # Device.key
MAX_DEDUP_KEY_LENGTH = 120  # DeviceEvent.dedup_key
# (device, message id) pairs per look-up statement on SQLite.
_CHUNK = 500

_STATE_FIELDS = [
    "last_seen_at",
    "state_at",
    "door",
    "door_changed_at",
    "battery_percent",
    "battery_mv",
    "battery_low",
    "tamper",
    "signal",
    "offline",
    "offline_since",
    "last_raw_hash",
    "model",
    "hardware_id",
]


@dataclass(frozen=True, slots=True)
class Incoming:
    reading: Reading
    received_at: datetime


@dataclass(slots=True, eq=False)
class DeviceState:
    """A device as the ingest path reads and moves it: the row's values, no model instance.

    Also what the pipeline (the alert rules) sees as `event.device`: the same attribute names
    as `Device`, and the same `str()`.
    """

    pk: int
    adapter: str
    key: str
    label: str
    status: str
    area_id: int | None
    household_id: int | None
    model: str
    hardware_id: str
    last_seen_at: datetime | None
    state_at: datetime | None
    door: str
    door_changed_at: datetime | None
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool
    tamper: bool
    signal: int | None
    offline: bool
    offline_since: datetime | None
    last_raw_hash: str

    def __str__(self) -> str:
        return self.label or self.key

    @classmethod
    def of(cls, device: Device) -> DeviceState:
        return cls(*(getattr(device, name) for name in _DEVICE_READ))


# DeviceState's fields in order, as Device attribute names ("pk" is the id column).
_DEVICE_READ = [name for name in DeviceState.__dataclass_fields__]


@dataclass(slots=True, eq=False)
class StoredEvent:
    """One stored row of devices_deviceevent; attribute names are DeviceEvent's attnames."""

    device: DeviceState
    received_at: datetime
    event_time: datetime
    kind: str
    door: str
    battery_percent: int | None
    battery_mv: int | None
    battery_low: bool | None
    tamper: bool | None
    online: bool | None
    signal: int | None
    stale: bool
    dedup_key: str | None
    transport: str
    raw: Any
    pk: int = 0  # the row's id, once inserted

    @property
    def device_id(self) -> int:
        return self.device.pk


@dataclass(slots=True, eq=False)
class StoredHealth:
    """One health change (a HealthEvent row), with its device for the pipeline."""

    device: DeviceState
    kind: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def device_id(self) -> int:
        return self.device.pk


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    stale: int = 0
    new_devices: int = 0
    refused: int = 0
    events: list[StoredEvent] = field(default_factory=list)
    health: list[StoredHealth] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "stale": self.stale,
            "new_devices": self.new_devices,
            "health_events": len(self.health),
            "refused": self.refused,
        }


def raw_hash(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def ingest(items: Sequence[Incoming], transport: str, area: Area | None = None) -> IngestResult:
    """Store a batch in one transaction. Returns once it is committed (ack after this)."""
    if not items:
        return IngestResult()
    if _use_writer():
        # In this request's context (audit origin, language) like any other service call.
        context = contextvars.copy_context()
        return _writer().submit(context.run, _write, items, transport, area).result()
    return _ingest_here(items, transport, area)


def _ingest_here(items: Sequence[Incoming], transport: str, area: Area | None) -> IngestResult:
    try:
        with transaction.atomic():
            return _ingest(items, transport, area)
    except IntegrityError:
        # Another ingester stored some of the same messages (or created the same device)
        # between our look-up and our insert: look again, now that theirs are committed.
        with transaction.atomic():
            return _ingest(items, transport, area)


def _use_writer() -> bool:
    """Whether this batch goes to the process's SQLite writer thread.

    SQLite has one writer at a time, and the web server runs every request on a new thread
    with a new connection. Writers queueing in SQLite's busy handler poll with sleeps of up to
    100 ms and leave the database idle in between; each new connection starts with a cold page
    cache and, closing last, checkpoints the WAL. One long-lived thread with one connection
    takes the batches in turn instead, as the raw driver would.

    Not inside a caller's transaction (the MQTT bridge's, a test's): the batch belongs to it.
    Not for an in-memory database (tests), which another thread's connection would not share.
    """
    return (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and not connection.is_in_memory_db()  # type: ignore[attr-defined]
    )


def _write(items: Sequence[Incoming], transport: str, area: Area | None) -> IngestResult:
    """_ingest_here on the writer thread, whose connection outlives the batch."""
    try:
        return _ingest_here(items, transport, area)
    except Exception:
        # Whatever broke this batch (a full disk, a damaged file) must not stay with the
        # connection every later batch uses: the next one reconnects.
        connection.close()
        raise


@cache
def _writer() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-ingest")


def _low_battery_thresholds(models: Iterable[str]) -> dict[str, int]:
    wanted = set(models)
    if not wanted:
        return {}
    return dict(
        DeviceKind.objects.filter(model__in=wanted).values_list("model", "low_battery_percent")
    )


def _is_one_of(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`. On PostgreSQL one array parameter: psycopg scans a
    statement's text for placeholders in Python, which for a few hundred of them cost more
    than running the query."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


@cache
def _device_select(vendor: str) -> tuple[str, tuple[int, ...]]:
    """SELECT of DeviceState's columns, and the positions of its datetimes."""
    quote = connection.ops.quote_name
    opts = Device._meta
    fields = [opts.pk if name == "pk" else opts.get_field(name) for name in _DEVICE_READ]
    columns = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    datetimes = tuple(i for i, f in enumerate(fields) if isinstance(f, DateTimeField))
    table = quote(opts.db_table)
    select = f"SELECT {columns} FROM {table} WHERE {quote('adapter')} = %s AND "  # noqa: S608
    return select, datetimes


def _read_devices(adapter: str, keys: Sequence[str]) -> list[DeviceState]:
    select, datetimes = _device_select(connection.vendor)
    quote = connection.ops.quote_name
    devices: list[DeviceState] = []
    with connection.cursor() as cursor:
        for start in range(0, len(keys), 1000):
            condition, params = _is_one_of(quote("key"), keys[start : start + 1000])
            cursor.execute(select + condition, [adapter, *params])
            for row in cursor.fetchall():
                values = list(row)
                for i in datetimes:
                    value = values[i]
                    if value is not None and value.tzinfo is None:
                        # SQLite hands back the naive UTC it stores (Django's converter would
                        # make it aware the same way).
                        values[i] = value.replace(tzinfo=UTC)
                devices.append(DeviceState(*values))
    return devices


def _devices_for(
    items: Sequence[Incoming], area: Area | None, result: IngestResult
) -> dict[tuple[str, str], DeviceState]:
    wanted: dict[str, set[str]] = {}
    for item in items:
        wanted.setdefault(item.reading.adapter, set()).add(item.reading.device_key)
    devices: dict[tuple[str, str], DeviceState] = {}
    for adapter, keys in wanted.items():
        for device in _read_devices(adapter, sorted(keys)):
            devices[(adapter, device.key)] = device
    missing = [
        (adapter, key)
        for adapter, keys in wanted.items()
        for key in keys
        if (adapter, key) not in devices
    ]
    if missing:
        first = {(i.reading.adapter, i.reading.device_key): i.reading for i in reversed(items)}
        # ignore_conflicts: another ingester may be creating the same new device right now;
        # both then read back whichever row won.
        Device.objects.bulk_create(
            [
                Device(
                    adapter=adapter,
                    key=key,
                    status=DeviceStatus.UNCLAIMED,
                    area=area,
                    model=first[(adapter, key)].model or "",
                    hardware_id=first[(adapter, key)].hardware_id or "",
                )
                for adapter, key in missing
            ],
            ignore_conflicts=True,
        )
        result.new_devices = len(missing)
        by_adapter: dict[str, list[str]] = {}
        for adapter, key in missing:
            by_adapter.setdefault(adapter, []).append(key)
        for adapter, new_keys in by_adapter.items():
            for device in _read_devices(adapter, sorted(new_keys)):
                devices[(adapter, device.key)] = device
    return devices


def _ingest(items: Sequence[Incoming], transport: str, area: Area | None) -> IngestResult:
    result = IngestResult()
    refused = [(i, _too_long(i.reading)) for i in items]
    for item, reason in refused:
        if reason:
            # The network sent something our columns cannot hold: keep it where people look.
            record_dead_letter(
                item.reading.adapter,
                transport,
                reason,
                json.dumps(item.reading.raw, default=str, ensure_ascii=False),
            )
            result.refused += 1
    items = [i for i, reason in refused if not reason]
    if not items:
        return result
    devices = _devices_for(items, area, result)
    keyed = [
        (devices[(i.reading.adapter, i.reading.device_key)].pk, i.reading.dedup_key)
        for i in items
        if i.reading.dedup_key
    ]
    seen = _stored_keys(keyed)
    thresholds = _low_battery_thresholds(d.model for d in devices.values() if d.model)
    changed: dict[int, DeviceState] = {}
    # Apply in event-time order so a batch that arrives shuffled still ends in the newest state.
    ordered = sorted(items, key=lambda i: i.reading.event_time or i.received_at)
    for item in ordered:
        reading = item.reading
        device = devices[(reading.adapter, reading.device_key)]
        if reading.dedup_key:
            identity = (device.pk, reading.dedup_key)
            if identity in seen:
                result.duplicates += 1
                continue
            seen.add(identity)
            digest = ""
        else:
            digest = raw_hash(reading.raw)
            if (
                digest == device.last_raw_hash
                and device.last_seen_at is not None
                and item.received_at - device.last_seen_at <= REDELIVERY_WINDOW
            ):
                result.duplicates += 1
                continue
        event_time = reading.event_time or item.received_at
        stale = device.state_at is not None and event_time < device.state_at
        low_at = thresholds.get(device.model, DEFAULT_LOW_BATTERY_PERCENT)
        _apply(device, reading, item.received_at, event_time, stale, low_at, result.health)
        if digest:
            device.last_raw_hash = digest
        changed[device.pk] = device
        result.stale += stale
        result.events.append(
            StoredEvent(
                device=device,
                received_at=item.received_at,
                event_time=event_time,
                kind=reading.kind,
                door=reading.door or "",
                battery_percent=reading.battery_percent,
                battery_mv=reading.battery_mv,
                battery_low=reading.battery_low,
                tamper=reading.tamper,
                online=reading.online,
                signal=reading.signal,
                stale=stale,
                dedup_key=reading.dedup_key,
                transport=transport,
                raw=reading.raw,
            )
        )
    _insert_events(result.events)
    _save_states(list(changed.values()))
    HealthEvent.objects.bulk_create(
        [
            HealthEvent(device_id=h.device.pk, kind=h.kind, at=h.at, detail=h.detail)
            for h in result.health
        ],
        batch_size=500,
    )
    result.stored = len(result.events)
    run_pipeline(result)
    return result


@cache
def _pipeline() -> list[Callable[[IngestResult], None]]:
    return [import_string(path) for path in settings.DEVICE_PIPELINE]


def run_pipeline(result: IngestResult) -> None:
    """Hand what was just stored to the apps that act on it (the alert rules), inside the same
    transaction. The list is in settings.DEVICE_PIPELINE: devices does not import them."""
    if result.events or result.health:
        for step in _pipeline():
            step(result)


def _stored_keys(keyed: Sequence[tuple[int, str | None]]) -> set[tuple[int, str]]:
    """Which (device, message id) pairs are already stored, as one lookup of row values.

    `device_id IN (…) AND dedup_key IN (…)` makes SQLite probe the index once per device and
    key combination; a list of exact pairs is one probe per pair.
    """
    pairs = sorted({(d, k) for d, k in keyed if k})
    found: set[tuple[int, str]] = set()
    if not pairs:
        return found
    table = connection.ops.quote_name(DeviceEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT device_id, dedup_key FROM {table} "  # noqa: S608
                "WHERE (device_id, dedup_key) IN "
                "(SELECT d, k FROM json_to_recordset(%s::json) AS r(d bigint, k text))",
                [json.dumps([{"d": d, "k": k} for d, k in pairs])],
            )
            found.update((int(d), str(k)) for d, k in cursor.fetchall())
            return found
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"SELECT device_id, dedup_key FROM {table} "  # noqa: S608
                f"WHERE (device_id, dedup_key) IN (VALUES {values})",
                [v for pair in chunk for v in pair],
            )
            found.update((int(d), str(k)) for d, k in cursor.fetchall())
    return found


# What JSONField.get_db_prep_save makes of a value on SQLite (json.dumps with its defaults),
# without the per-call set-up.
_dumps = json.JSONEncoder().encode


def _sqlite_datetime(value: datetime | None) -> str | None:
    # What Django's SQLite backend stores: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value is None:
        return None
    if value.tzinfo is not UTC:  # almost all are UTC already: timezone.now(), the adapters
        value = value.astimezone(UTC)
    return str(value.replace(tzinfo=None))


@dataclass(frozen=True)
class _Columns:
    """A table's columns as the hand-written statements below need them, worked out once."""

    quoted: list[str]
    attnames: list[str]
    names: list[str]  # column names unquoted: the keys of _json_rows
    typed: str  # PostgreSQL: the columns with their types, for json_to_recordset's AS clause
    datetimes: list[int]
    json: list[int]


@cache
def _columns(
    model: type[Device] | type[DeviceEvent], names: tuple[str, ...], vendor: str
) -> _Columns:
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    return _Columns(
        quoted=[quote(str(f.column)) for f in fields],  # type: ignore[union-attr]
        attnames=[str(f.attname) for f in fields],  # type: ignore[union-attr]
        names=[str(f.column) for f in fields],  # type: ignore[union-attr]
        typed=", ".join(
            f"{quote(str(f.column))} {f.db_type(connection)}"  # type: ignore[union-attr]
            for f in fields
        ),
        datetimes=[i for i, f in enumerate(fields) if isinstance(f, DateTimeField)],
        json=[i for i, f in enumerate(fields) if isinstance(f, JSONField)],
    )


def _event_columns() -> _Columns:
    names = tuple(f.name for f in DeviceEvent._meta.concrete_fields if not f.primary_key)
    return _columns(DeviceEvent, names, connection.vendor)


def _db_rows(objects: Sequence[Any], columns: _Columns) -> list[list[Any]]:
    """Each object's column values as the database takes them (what the ORM would send)."""
    getter = attrgetter(*columns.attnames)
    sqlite = connection.vendor == "sqlite"
    # The same datetimes recur (a batch's receive time is every event's and most devices'
    # last_seen_at): format each once.
    texts: dict[datetime, str | None] = {}
    adapt_json = _dumps if sqlite else partial(connection.ops.adapt_json_value, encoder=None)
    rows: list[list[Any]] = []
    for obj in objects:
        row = list(getter(obj))
        if sqlite:
            for i in columns.datetimes:
                value = row[i]
                if value is not None:
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = _sqlite_datetime(value)
                    row[i] = text
        for i in columns.json:
            row[i] = adapt_json(row[i])
        rows.append(row)
    return rows


def _json_rows(objects: Sequence[Any], columns: _Columns, with_id: bool = False) -> str:
    """The objects' column values as one JSON array of objects, for json_to_recordset."""
    getter = attrgetter(*columns.attnames)
    names = ["id", *columns.names] if with_id else columns.names
    rows = []
    for obj in objects:
        row = list(getter(obj))
        for i in columns.datetimes:
            if row[i] is not None:
                row[i] = row[i].isoformat()  # with its offset: timestamptz reads it exactly
        if with_id:
            row.insert(0, obj.pk)
        rows.append(dict(zip(names, row, strict=True)))
    return json.dumps(rows, separators=(",", ":"))


def _insert_events(events: list[StoredEvent]) -> None:
    """The events' rows, written out: bulk_create spent most of a batch's time compiling SQL
    and building instances. The alert rules need the ids, so they are set."""
    if not events:
        return
    columns = _event_columns()
    table = connection.ops.quote_name(DeviceEvent._meta.db_table)
    insert = f"INSERT INTO {table} ({', '.join(columns.quoted)}) "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The whole batch as one JSON parameter: psycopg quotes parameters in Python (Django
            # binds them client-side), per value and per array element, which cost more than
            # PostgreSQL spends inserting. Rows come back in the order of the document.
            cursor.execute(
                insert + f"SELECT {', '.join(columns.quoted)} "  # noqa: S608
                f"FROM json_to_recordset(%s::json) AS r({columns.typed}) RETURNING id",
                [_json_rows(events, columns)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        else:
            ids = _sqlite_insert(cursor, table, insert, _db_rows(events, columns))
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk


def _sqlite_insert(cursor: Any, table: str, insert: str, rows: list[list[Any]]) -> list[int]:
    """One prepared INSERT run for every row (executemany, as the raw driver does), and the
    ids the rows got.

    A multi-row INSERT … RETURNING costs a statement text with a placeholder per value, which
    Django rewrites with a regular expression and SQLite parses, and a result row per event.
    The ids need neither: an AUTOINCREMENT table gives each new row one more than the largest
    id it ever had (the larger of sqlite_sequence and max(id)), and no one else can insert
    while this transaction holds SQLite's write lock (BEGIN IMMEDIATE). They are checked
    against sqlite_sequence after the insert, and read back should they ever differ.
    """
    last = (
        f"SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
        f"COALESCE((SELECT max(id) FROM {table}), 0))"
    )
    name = DeviceEvent._meta.db_table
    cursor.execute(last, [name])
    (before,) = cursor.fetchone()
    cursor.executemany(insert + "VALUES (" + ", ".join(["%s"] * len(rows[0])) + ")", rows)
    cursor.execute(last, [name])
    (after,) = cursor.fetchone()
    if after - before == len(rows):
        return list(range(before + 1, after + 1))
    cursor.execute(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", [before])  # noqa: S608
    return [pk for (pk,) in cursor.fetchall()]


def _save_states(devices: list[DeviceState]) -> None:
    """The changed devices' state columns, written in one statement (PostgreSQL) or one
    prepared UPDATE per device sent with executemany (SQLite).

    Django's bulk_update builds a CASE expression per field and row, which costs more than
    the whole rest of a batch (about 200 ms for 50 devices); this is the same write, plainly.
    """
    if not devices:
        return
    # Always in id order: two batches updating the same devices then take their row locks
    # in the same order and cannot deadlock (PostgreSQL).
    devices = sorted(devices, key=attrgetter("pk"))
    columns = _columns(Device, tuple(_STATE_FIELDS), connection.vendor)
    quote = connection.ops.quote_name
    table = quote(Device._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The UPDATE's join may visit rows in any order; lock them in id order first.
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
                [[d.pk for d in devices]],
            )
            # All rows in one JSON parameter, as in _insert_events.
            assignments = ", ".join(f"{c} = r.{c}" for c in columns.quoted)
            cursor.execute(
                f"UPDATE {table} SET {assignments} "  # noqa: S608
                f"FROM json_to_recordset(%s::json) AS r(id bigint, {columns.typed}) "
                f"WHERE {table}.id = r.id",
                [_json_rows(devices, columns, with_id=True)],
            )
            return
        rows = _db_rows(devices, columns)
        assignments = ", ".join(f"{c} = %s" for c in columns.quoted)
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
            [[*row, device.pk] for row, device in zip(rows, devices, strict=True)],
        )


def _too_long(reading: Reading) -> str:
    if len(reading.device_key) > MAX_KEY_LENGTH:
        return "device id is longer than 200 characters"
    if reading.dedup_key and len(reading.dedup_key) > MAX_DEDUP_KEY_LENGTH:
        return "message id is longer than 120 characters"
    return ""


def _apply(
    device: DeviceState,
    reading: Reading,
    received_at: datetime,
    event_time: datetime,
    stale: bool,
    low_at: int,
    health: list[StoredHealth],
) -> None:
    """Move the device's state forward with one reading; the health changes it caused are
    appended to `health`."""
    if device.last_seen_at is None or received_at > device.last_seen_at:
        device.last_seen_at = received_at
    if reading.model and not device.model:
        device.model = reading.model
    if reading.hardware_id and not device.hardware_id:
        device.hardware_id = reading.hardware_id
    going_offline = reading.kind == "availability" and reading.online is False
    if device.offline and not going_offline and not stale:
        device.offline, device.offline_since = False, None
        health.append(StoredHealth(device, HealthKind.ONLINE, event_time))
    if stale:
        return
    device.state_at = event_time
    if going_offline and not device.offline:
        device.offline, device.offline_since = True, event_time
        health.append(
            StoredHealth(device, HealthKind.OFFLINE, event_time, {"reported_by": "network"})
        )
    if reading.door and reading.door != device.door:
        device.door, device.door_changed_at = reading.door, event_time
    if reading.signal is not None:
        device.signal = reading.signal
    if reading.battery_mv is not None:
        device.battery_mv = reading.battery_mv
    if reading.battery_percent is not None:
        device.battery_percent = reading.battery_percent
    if reading.battery_low is not None or reading.battery_percent is not None:
        low = bool(reading.battery_low) or (
            reading.battery_percent is not None and reading.battery_percent <= low_at
        )
        if low != device.battery_low:
            device.battery_low = low
            health.append(
                StoredHealth(
                    device,
                    HealthKind.BATTERY_LOW if low else HealthKind.BATTERY_OK,
                    event_time,
                    {"battery_percent": device.battery_percent},
                )
            )
    if reading.tamper is not None and reading.tamper != device.tamper:
        device.tamper = reading.tamper
        health.append(
            StoredHealth(
                device,
                HealthKind.TAMPER if reading.tamper else HealthKind.TAMPER_CLEARED,
                event_time,
            )
        )


def record_dead_letter(
    adapter: str,
    transport: str,
    reason: str,
    payload: bytes | str,
    topic: str = "",
    source: str = "",
) -> DeadLetter:
    text = payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")
    return DeadLetter.objects.create(
        received_at=timezone.now(),
        adapter=adapter[:20],
        transport=transport,
        topic=topic[:300],
        reason=reason[:500],
        payload=text[: settings.DEAD_LETTER_MAX_BYTES],
        source=source[:100],
    )


def offline_after(device: Device, by_model: dict[str, timedelta]) -> timedelta:
    if device.offline_after is not None:
        return device.offline_after
    return by_model.get(device.model, timedelta(hours=settings.OFFLINE_AFTER_HOURS))


def mark_offline(now: datetime | None = None) -> list[HealthEvent]:
    """Installed devices silent past their timeout go offline. Run periodically; idempotent,
    and derived from the database alone, so a restart loses no timer."""
    now = now or timezone.now()
    by_model: dict[str, timedelta] = dict(DeviceKind.objects.values_list("model", "offline_after"))
    overrides = [
        t
        for t in Device.objects.filter(offline_after__isnull=False)
        .values_list("offline_after", flat=True)
        .distinct()
        if t is not None
    ]
    default = timedelta(hours=settings.OFFLINE_AFTER_HOURS)
    # Only devices silent for at least the shortest timeout can be due: filter in SQL first.
    shortest = min([default, *by_model.values(), *overrides])
    candidates = Device.objects.filter(
        status=DeviceStatus.INSTALLED, offline=False, last_seen_at__lt=now - shortest
    )
    health: list[HealthEvent] = []
    with transaction.atomic():
        for device in candidates.select_for_update():
            if device.last_seen_at is None or (
                now - device.last_seen_at < offline_after(device, by_model)
            ):
                continue
            device.offline, device.offline_since = True, device.last_seen_at
            device.save(update_fields=["offline", "offline_since"])
            health.append(
                HealthEvent.objects.create(
                    device=device,
                    kind=HealthKind.OFFLINE,
                    at=now,
                    detail={"reported_by": "timeout", "last_seen": device.last_seen_at.isoformat()},
                )
            )
        run_pipeline(
            IngestResult(
                health=[
                    StoredHealth(DeviceState.of(h.device), h.kind, h.at, h.detail) for h in health
                ]
            )
        )
    return health
