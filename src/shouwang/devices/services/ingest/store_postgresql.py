"""The ingest path's hand-written SQL for PostgreSQL: a whole batch as one JSON parameter.

Django binds parameters client-side and psycopg quotes them in Python, per value and per array
element; for a batch of events that cost more than PostgreSQL spends inserting. One JSON
document read by json_to_recordset costs one quoted string. The rows written are exactly the
ORM's (the columns come from the models).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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

_KEYS = 1000


def read_devices(adapter: str, keys: Sequence[str]) -> list[DeviceState]:
    select, datetimes = device_select()
    key = connection.ops.quote_name("key")
    devices: list[DeviceState] = []
    with connection.cursor() as cursor:
        for start in range(0, len(keys), _KEYS):
            # One array parameter: psycopg scans a statement's text for placeholders in
            # Python, which for a few hundred of them cost more than running the query.
            cursor.execute(
                select + f"{key} = ANY(%s)", [adapter, list(keys[start : start + _KEYS])]
            )
            devices.extend(device_state(row, datetimes) for row in cursor.fetchall())
    return devices


def stored_keys(pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (device, message id) pairs are stored: one lookup of row values."""
    table = quoted_table(DeviceEvent)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT device_id, dedup_key FROM {table} "  # noqa: S608
            "WHERE (device_id, dedup_key) IN "
            "(SELECT d, k FROM json_to_recordset(%s::json) AS r(d bigint, k text))",
            [json.dumps([{"d": d, "k": k} for d, k in pairs])],
        )
        return {(int(d), str(k)) for d, k in cursor.fetchall()}


def _json_rows(objects: Sequence[Any], columns: Columns, with_id: bool = False) -> str:
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


def insert_events(events: list[StoredEvent]) -> None:
    """The events' rows in one INSERT … SELECT, and each event's id set (the alert rules need
    them). Rows come back in the order of the document."""
    columns = event_columns()
    table = quoted_table(DeviceEvent)
    quoted = ", ".join(columns.quoted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quoted}) SELECT {quoted} "  # noqa: S608
            f"FROM json_to_recordset(%s::json) AS r({columns.typed}) RETURNING id",
            [_json_rows(events, columns)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk


def save_states(devices: list[DeviceState]) -> None:
    """The devices' state columns in one UPDATE. `devices` comes in id order."""
    columns = state_columns()
    table = quoted_table(Device)
    with connection.cursor() as cursor:
        # The UPDATE's join may visit rows in any order; lock them in id order first, so two
        # batches updating the same devices cannot deadlock.
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
            [[d.pk for d in devices]],
        )
        assignments = ", ".join(f"{c} = r.{c}" for c in columns.quoted)
        cursor.execute(
            f"UPDATE {table} SET {assignments} "  # noqa: S608
            f"FROM json_to_recordset(%s::json) AS r(id bigint, {columns.typed}) "
            f"WHERE {table}.id = r.id",
            [_json_rows(devices, columns, with_id=True)],
        )
