"""Offline marking by silence: the periodic side of device health."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shouwang.devices import pipeline
from shouwang.devices.models import Device, DeviceKind, DeviceStatus, HealthEvent, HealthKind
from shouwang.devices.services.ingest.records import DeviceState, IngestResult, StoredHealth


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
        pipeline.run(
            IngestResult(
                health=[
                    StoredHealth(DeviceState.of(h.device), h.kind, h.at, h.detail) for h in health
                ]
            )
        )
    return health
