"""The ingest path: normalised readings in, events stored, device state and health updated.

Built for the hot path: a whole batch (an HTTP push, or what the MQTT bridge collected in a
few milliseconds) is one transaction with a fixed number of queries, whatever its size:
devices of the batch (1), devices never seen before (insert + fetch), existing dedup keys
(1), the events (bulk insert), the changed devices (bulk update) and health events (bulk
insert). Nothing here queries per event.

Idempotent: a reading whose dedup key is already stored is dropped; a reading without one
(Zigbee2MQTT has no message ids) is dropped when it repeats the device's last message
exactly, which is what a broker's redelivery looks like. Out of order: an event older than the
device's state is stored, marked stale, and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Field, JSONField
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


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    stale: int = 0
    new_devices: int = 0
    refused: int = 0
    events: list[DeviceEvent] = field(default_factory=list)
    health: list[HealthEvent] = field(default_factory=list)

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
    try:
        with transaction.atomic():
            return _ingest(items, transport, area)
    except IntegrityError:
        # Another ingester stored some of the same messages (or created the same device)
        # between our look-up and our insert: look again, now that theirs are committed.
        with transaction.atomic():
            return _ingest(items, transport, area)


def _low_battery_thresholds(models: Iterable[str]) -> dict[str, int]:
    return dict(
        DeviceKind.objects.filter(model__in=set(models)).values_list("model", "low_battery_percent")
    )


def _devices_for(
    items: Sequence[Incoming], area: Area | None, result: IngestResult
) -> dict[tuple[str, str], Device]:
    wanted: dict[str, set[str]] = {}
    for item in items:
        wanted.setdefault(item.reading.adapter, set()).add(item.reading.device_key)
    devices: dict[tuple[str, str], Device] = {}
    for adapter, keys in wanted.items():
        for device in Device.objects.filter(adapter=adapter, key__in=keys):
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
            for device in Device.objects.filter(adapter=adapter, key__in=new_keys):
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
    changed: dict[int, Device] = {}
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
        result.health.extend(_apply(device, reading, item.received_at, event_time, stale, low_at))
        if digest:
            device.last_raw_hash = digest
        changed[device.pk] = device
        result.stale += stale
        result.events.append(
            DeviceEvent(
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
    HealthEvent.objects.bulk_create(result.health, batch_size=500)
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
    table = connection.ops.quote_name(DeviceEvent._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"SELECT device_id, dedup_key FROM {table} "  # noqa: S608
                f"WHERE (device_id, dedup_key) IN (VALUES {values})",
                [v for pair in chunk for v in pair],
            )
            found.update((int(d), str(k)) for d, k in cursor.fetchall())
    return found


def _sqlite_datetime(value: datetime | None) -> str | None:
    # What Django's SQLite backend stores: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))


def _identity(value: Any) -> Any:
    return value


def _preparers(fields: Sequence[Field[Any, Any]]) -> list[Callable[[Any], Any]]:
    """Per-column converters to database values, chosen once per batch.

    Field.get_db_prep_save on a DateTimeField re-checks settings and time zones on every call
    and was half of a batch's time; numbers, strings, booleans and ids need no conversion.
    """
    preparers: list[Callable[[Any], Any]] = []
    for column in fields:
        if isinstance(column, DateTimeField):
            preparers.append(_sqlite_datetime if connection.vendor == "sqlite" else _identity)
        elif isinstance(column, JSONField):
            preparers.append(partial(column.get_db_prep_save, connection=connection))
        else:
            preparers.append(_identity)
    return preparers


def _insert_events(events: list[DeviceEvent]) -> None:
    """Multi-row INSERT … RETURNING id, written out: bulk_create spent most of a batch's time
    compiling SQL. The alert rules need the ids, so they are set on the objects."""
    if not events:
        return
    fields: list[Field[Any, Any]] = [
        f for f in DeviceEvent._meta.concrete_fields if not f.primary_key
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(DeviceEvent._meta.db_table)
    columns_prep = list(zip(_preparers(fields), [f.attname for f in fields], strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(events), 500):
            chunk = events[start : start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                + ", ".join([row] * len(chunk))
                + " RETURNING id",
                [prep(getattr(e, name)) for e in chunk for prep, name in columns_prep],
            )
            for event, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                event.pk = pk
                event._state.adding = False


def _save_states(devices: list[Device]) -> None:
    """One prepared UPDATE per device, sent with executemany.

    Django's bulk_update builds a CASE expression per field and row, which costs more than
    the whole rest of a batch (about 200 ms for 50 devices); this is the same write, plainly.
    """
    if not devices:
        return
    fields: list[Field[Any, Any]] = [
        f for f in Device._meta.concrete_fields if f.name in _STATE_FIELDS
    ]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(Device._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    # Always in id order: two batches updating the same devices then take their row locks
    # in the same order and cannot deadlock (PostgreSQL).
    columns_prep = list(zip(_preparers(fields), [f.attname for f in fields], strict=True))
    rows = [
        [prep(getattr(d, name)) for prep, name in columns_prep] + [d.pk]
        for d in sorted(devices, key=lambda d: d.pk)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _too_long(reading: Reading) -> str:
    if len(reading.device_key) > Device._meta.get_field("key").max_length:  # type: ignore[operator]
        return "device id is longer than 200 characters"
    if reading.dedup_key and len(reading.dedup_key) > 120:
        return "message id is longer than 120 characters"
    return ""


def _apply(
    device: Device,
    reading: Reading,
    received_at: datetime,
    event_time: datetime,
    stale: bool,
    low_at: int,
) -> list[HealthEvent]:
    """Move the device's state forward with one reading; the health changes it caused."""
    health: list[HealthEvent] = []
    if device.last_seen_at is None or received_at > device.last_seen_at:
        device.last_seen_at = received_at
    if reading.model and not device.model:
        device.model = reading.model
    if reading.hardware_id and not device.hardware_id:
        device.hardware_id = reading.hardware_id
    going_offline = reading.kind == "availability" and reading.online is False
    if device.offline and not going_offline and not stale:
        device.offline, device.offline_since = False, None
        health.append(HealthEvent(device=device, kind=HealthKind.ONLINE, at=event_time))
    if stale:
        return health
    device.state_at = event_time
    if going_offline and not device.offline:
        device.offline, device.offline_since = True, event_time
        health.append(
            HealthEvent(
                device=device,
                kind=HealthKind.OFFLINE,
                at=event_time,
                detail={"reported_by": "network"},
            )
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
                HealthEvent(
                    device=device,
                    kind=HealthKind.BATTERY_LOW if low else HealthKind.BATTERY_OK,
                    at=event_time,
                    detail={"battery_percent": device.battery_percent},
                )
            )
    if reading.tamper is not None and reading.tamper != device.tamper:
        device.tamper = reading.tamper
        health.append(
            HealthEvent(
                device=device,
                kind=HealthKind.TAMPER if reading.tamper else HealthKind.TAMPER_CLEARED,
                at=event_time,
            )
        )
    return health


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
        run_pipeline(IngestResult(health=health))
    return health
