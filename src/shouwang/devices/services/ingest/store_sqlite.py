"""The ingest path's hand-written SQL for SQLite: prepared statements sent with executemany, as
the raw driver would, and values formatted the way Django's SQLite backend stores them.

Written out because bulk_create and bulk_update spent most of a batch's time compiling SQL and
building instances (bulk_update's CASE per field and row: ~200 ms for 50 devices).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from django.db import connection

from shouwang.devices.models import Device, DeviceEvent
from shouwang.devices.services.ingest.columns import (
    Columns,
    device_select,
    device_state,
    event_columns,
    quoted_table,
    state_columns,
)
from shouwang.devices.services.ingest.records import DeviceState, StoredEvent

# (device, message id) pairs per look-up statement; keys per device look-up.
_CHUNK = 500
_KEYS = 1000

# What JSONField.get_db_prep_save makes of a value on SQLite (json.dumps with its defaults),
# without the per-call set-up.
_dumps = json.JSONEncoder().encode


def read_devices(adapter: str, keys: Sequence[str]) -> list[DeviceState]:
    select, datetimes = device_select()
    key = connection.ops.quote_name("key")
    devices: list[DeviceState] = []
    with connection.cursor() as cursor:
        for start in range(0, len(keys), _KEYS):
            chunk = keys[start : start + _KEYS]
            cursor.execute(
                select + f"{key} IN ({', '.join(['%s'] * len(chunk))})", [adapter, *chunk]
            )
            devices.extend(device_state(row, datetimes) for row in cursor.fetchall())
    return devices


def stored_keys(pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (device, message id) pairs are stored, as lookups of row values.

    `device_id IN (…) AND dedup_key IN (…)` makes SQLite probe the index once per device and
    key combination; a list of exact pairs is one probe per pair.
    """
    found: set[tuple[int, str]] = set()
    table = quoted_table(DeviceEvent)
    with connection.cursor() as cursor:
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


def _datetime(value: datetime) -> str:
    # What Django's SQLite backend stores: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value.tzinfo is not UTC:  # almost all are UTC already: timezone.now(), the adapters
        value = value.astimezone(UTC)
    return str(value.replace(tzinfo=None))


def _rows(objects: Sequence[Any], columns: Columns) -> list[list[Any]]:
    """Each object's column values as the database takes them (what the ORM would send)."""
    getter = attrgetter(*columns.attnames)
    # The same datetimes recur (a batch's receive time is every event's and most devices'
    # last_seen_at): format each once.
    texts: dict[datetime, str] = {}
    rows: list[list[Any]] = []
    for obj in objects:
        row = list(getter(obj))
        for i in columns.datetimes:
            value = row[i]
            if value is not None:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = _datetime(value)
                row[i] = text
        for i in columns.json:
            row[i] = _dumps(row[i])
        rows.append(row)
    return rows


def insert_events(events: list[StoredEvent]) -> None:
    """One prepared INSERT run for every event, and each event's id set (the alert rules need
    them).

    A multi-row INSERT … RETURNING costs a statement text with a placeholder per value, which
    Django rewrites with a regular expression and SQLite parses, and a result row per event.
    The ids need neither: an AUTOINCREMENT table gives each new row one more than the largest
    id it ever had (the larger of sqlite_sequence and max(id)), and no one else can insert
    while this transaction holds SQLite's write lock (BEGIN IMMEDIATE). They are checked
    against sqlite_sequence after the insert, and read back should they ever differ.
    """
    columns = event_columns()
    table = quoted_table(DeviceEvent)
    rows = _rows(events, columns)
    last = (
        f"SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
        f"COALESCE((SELECT max(id) FROM {table}), 0))"
    )
    name = DeviceEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(last, [name])
        (before,) = cursor.fetchone()
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns.quoted)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns.quoted))})",
            rows,
        )
        cursor.execute(last, [name])
        (after,) = cursor.fetchone()
        if after - before == len(rows):
            ids = list(range(before + 1, after + 1))
        else:
            cursor.execute(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", [before])  # noqa: S608
            ids = [pk for (pk,) in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk


def save_states(devices: list[DeviceState]) -> None:
    """The devices' state columns: one prepared UPDATE per device, sent with executemany.
    `devices` comes in id order."""
    columns = state_columns()
    table = quoted_table(Device)
    assignments = ", ".join(f"{c} = %s" for c in columns.quoted)
    rows = _rows(devices, columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
            [[*row, device.pk] for row, device in zip(rows, devices, strict=True)],
        )
