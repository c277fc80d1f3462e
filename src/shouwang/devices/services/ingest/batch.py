"""One batch in, one transaction: find or create its devices, drop what is already stored,
move each device's state, write the rows, hand the result to the pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Protocol

from django.db import IntegrityError, connection, transaction

from shouwang.core.models import Area
from shouwang.core.sqlite import writer
from shouwang.devices import pipeline
from shouwang.devices.adapters import Reading
from shouwang.devices.models import Device, DeviceKind, DeviceStatus, HealthEvent
from shouwang.devices.services.ingest import redelivery, store_postgresql, store_sqlite
from shouwang.devices.services.ingest.dead_letters import record_dead_letter
from shouwang.devices.services.ingest.records import (
    DeviceState,
    Incoming,
    IngestResult,
    StoredEvent,
    raw_hash,
)
from shouwang.devices.services.ingest.redelivery import REDELIVERY_WINDOW
from shouwang.devices.services.ingest.state import DEFAULT_LOW_BATTERY_PERCENT, apply

MAX_KEY_LENGTH = 200  # Device.key
MAX_DEDUP_KEY_LENGTH = 120  # DeviceEvent.dedup_key


def ingest(items: Sequence[Incoming], transport: str, area: Area | None = None) -> IngestResult:
    """Store a batch in one transaction. Returns once it is committed (ack after this).

    On SQLite outside a caller's transaction the batch is written by the process's writer
    thread (`core.sqlite.writer`)."""
    if not items:
        return IngestResult()
    return _commit(items, transport, area)


@writer.on_writer
def _commit(items: Sequence[Incoming], transport: str, area: Area | None) -> IngestResult:
    try:
        with transaction.atomic():
            return _ingest(items, transport, area)
    except IntegrityError:
        # Another ingester stored some of the same messages (or created the same device)
        # between our look-up and our insert: look again, now that theirs are committed.
        with transaction.atomic():
            return _ingest(items, transport, area)


class Store(Protocol):
    """The hand-written SQL of one database (store_sqlite, store_postgresql)."""

    def read_devices(self, adapter: str, keys: Sequence[str]) -> list[DeviceState]: ...
    def stored_keys(self, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]: ...
    def insert_events(self, events: list[StoredEvent]) -> None: ...
    def save_states(self, devices: list[DeviceState]) -> None: ...


def _store() -> Store:
    return store_postgresql if connection.vendor == "postgresql" else store_sqlite


def _ingest(items: Sequence[Incoming], transport: str, area: Area | None) -> IngestResult:
    store = _store()
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
                area=area,
                redelivered=item.redelivered,
            )
            result.refused += 1
    items = [i for i, reason in refused if not reason]
    if not items:
        return result
    devices = _devices_for(store, items, area, result)
    keyed = sorted(
        {
            (devices[(i.reading.adapter, i.reading.device_key)].pk, i.reading.dedup_key)
            for i in items
            if i.reading.dedup_key
        }
    )
    seen = store.stored_keys(keyed) if keyed else set()
    thresholds = _low_battery_thresholds(d.model for d in devices.values() if d.model)
    changed: dict[int, DeviceState] = {}
    now = max(i.received_at for i in items)
    # Per device: the delivery keys in its window, and the entries this batch adds.
    windows: dict[int, set[str]] = {}
    deliveries: dict[int, list[str]] = {}
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
        elif item.delivery is not None:
            # MQTT without message ids: see redelivery.py.
            digest = raw_hash(reading.raw)
            window = windows.get(device.pk)
            if window is None:
                window = windows[device.pk] = redelivery.recent(device.recent_deliveries, now)
            delivery = redelivery.delivery_key(item.delivery, digest)
            if item.redelivered and delivery in window:
                result.duplicates += 1
                continue
            window.add(delivery)
            deliveries.setdefault(device.pk, []).append(
                redelivery.entry(item.received_at, item.delivery, digest)
            )
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
        apply(device, reading, item.received_at, event_time, stale, low_at, result.health)
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
    for pk, new in deliveries.items():
        device = changed[pk]
        device.recent_deliveries = redelivery.added(device.recent_deliveries, new, now)
    if result.events:
        store.insert_events(result.events)
    if changed:
        # Always in id order: two batches updating the same devices then take their row
        # locks in the same order and cannot deadlock (PostgreSQL).
        store.save_states(sorted(changed.values(), key=attrgetter("pk")))
    HealthEvent.objects.bulk_create(
        [
            HealthEvent(device_id=h.device.pk, kind=h.kind, at=h.at, detail=h.detail)
            for h in result.health
        ],
        batch_size=500,
    )
    result.stored = len(result.events)
    pipeline.run(result)
    return result


def _devices_for(
    store: Store, items: Sequence[Incoming], area: Area | None, result: IngestResult
) -> dict[tuple[str, str], DeviceState]:
    wanted: dict[str, set[str]] = {}
    for item in items:
        wanted.setdefault(item.reading.adapter, set()).add(item.reading.device_key)
    devices: dict[tuple[str, str], DeviceState] = {}
    for adapter, keys in wanted.items():
        for device in store.read_devices(adapter, sorted(keys)):
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
            for device in store.read_devices(adapter, sorted(new_keys)):
                devices[(adapter, device.key)] = device
    return devices


def _low_battery_thresholds(models: Iterable[str]) -> dict[str, int]:
    wanted = set(models)
    if not wanted:
        return {}
    return dict(
        DeviceKind.objects.filter(model__in=wanted).values_list("model", "low_battery_percent")
    )


def _too_long(reading: Reading) -> str:
    if len(reading.device_key) > MAX_KEY_LENGTH:
        return "device id is longer than 200 characters"
    if reading.dedup_key and len(reading.dedup_key) > MAX_DEDUP_KEY_LENGTH:
        return "message id is longer than 120 characters"
    return ""
