"""What both stores need to know about the tables they write by hand, worked out once from the
models, so the hand-written statements always match the ORM's columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, JSONField

from shouwang.devices.models import Device, DeviceEvent
from shouwang.devices.services.ingest.records import DEVICE_READ, STATE_FIELDS, DeviceState


@dataclass(frozen=True)
class Columns:
    """A table's columns as the hand-written statements need them."""

    quoted: list[str]
    attnames: list[str]
    names: list[str]  # column names unquoted: the keys of a JSON row
    typed: str  # PostgreSQL: the columns with their types, for json_to_recordset's AS clause
    datetimes: list[int]
    json: list[int]


@cache
def _columns(
    model: type[Device] | type[DeviceEvent], names: tuple[str, ...], vendor: str
) -> Columns:
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    return Columns(
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


def event_columns() -> Columns:
    names = tuple(f.name for f in DeviceEvent._meta.concrete_fields if not f.primary_key)
    return _columns(DeviceEvent, names, connection.vendor)


def state_columns() -> Columns:
    return _columns(Device, tuple(STATE_FIELDS), connection.vendor)


def quoted_table(model: type[Device] | type[DeviceEvent]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _device_select(vendor: str) -> tuple[str, tuple[int, ...]]:
    quote = connection.ops.quote_name
    opts = Device._meta
    fields = [opts.pk if name == "pk" else opts.get_field(name) for name in DEVICE_READ]
    columns = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    datetimes = tuple(i for i, f in enumerate(fields) if isinstance(f, DateTimeField))
    table = quote(opts.db_table)
    select = f"SELECT {columns} FROM {table} WHERE {quote('adapter')} = %s AND "  # noqa: S608
    return select, datetimes


def device_select() -> tuple[str, tuple[int, ...]]:
    """SELECT of DeviceState's columns (a condition on the key to be appended), and the
    positions of its datetimes."""
    return _device_select(connection.vendor)


def device_state(row: Any, datetimes: tuple[int, ...]) -> DeviceState:
    values = list(row)
    for i in datetimes:
        value = values[i]
        if value is not None and value.tzinfo is None:
            # SQLite hands back the naive UTC it stores (Django's converter would make it
            # aware the same way).
            values[i] = value.replace(tzinfo=UTC)
    return DeviceState(*values)
