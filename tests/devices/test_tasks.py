"""Periodic device checks run from the task queue."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from shouwang.devices.models import Device, DeviceStatus
from shouwang.devices.tasks import check_offline_devices


def test_periodic_offline_check_marks_silent_installed_devices(db: None) -> None:
    seen = timezone.now()
    Device.objects.create(
        adapter="generic", key="quiet", status=DeviceStatus.INSTALLED, last_seen_at=seen
    )
    Device.objects.create(
        adapter="generic", key="stock", status=DeviceStatus.IN_STOCK, last_seen_at=seen
    )
    with time_machine.travel(seen + timedelta(hours=26), tick=False):
        assert check_offline_devices.call_local() == 1
    assert list(Device.objects.filter(offline=True).values_list("key", flat=True)) == ["quiet"]
