"""The devices app's part of the demo town: door sensors and the demo gateway's ingest key.

About 40 sensors, registered and installed through the lifecycle actions, pushed through a
gateway speaking Shouwang's generic format, so the simulator can drive them over HTTP with
the demo's own ingest key. Registered in `DevicesConfig.ready()` (`core.demo.register`).
"""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from shouwang.core.demo import DemoTown, write_private
from shouwang.core.models import Area, AreaKind, Household
from shouwang.devices.models import Device, DeviceKind, DeviceStatus, IngestKey
from shouwang.devices.services.keys import create_ingest_key, hash_key
from shouwang.devices.services.lifecycle import install_device, register_device

SENSOR_ADAPTER = "generic"
SENSOR_PREFIX = "demo-door-"
SENSORS = 40
SENSORS_INSTALLED = 30
# (model, offline after, low battery at %)
SENSOR_KINDS = [("MCCGQ11LM", timedelta(hours=25), 20), ("WS301", timedelta(hours=25), 25)]
INGEST_KEY_NAME = "演示门磁网关"
INGEST_KEY_FILE = "demo_ingest_key"


def seed_demo(town: DemoTown) -> None:
    _seed_sensors(town.seed)
    if town.street is not None:
        town.ingest_key_file = _seed_ingest_key(town.street, Path(settings.VAR_DIR))


def count_sensors(town: DemoTown) -> None:
    """The installed sensors the simulator drives, counted after every part has installed
    its own (the quarantine cases take sensors from the stock)."""
    demo_sensors = Device.objects.filter(adapter=SENSOR_ADAPTER, key__startswith=SENSOR_PREFIX)
    town.sensors = list(
        demo_sensors.filter(status=DeviceStatus.INSTALLED)
        .order_by("key")
        .values_list("key", flat=True)
    )
    town.sensors_in_stock = demo_sensors.filter(status=DeviceStatus.IN_STOCK).count()


def _community_of(area: Area) -> Area:
    community: Area | None = Area.objects.filter(
        path__in=[*area.ancestor_paths(), area.path], kind=AreaKind.COMMUNITY
    ).first()
    return community or area


def _seed_sensors(seed: int) -> None:
    """Most at households of elderly people living alone (the care watch is what they are
    for), the rest in the communities' stock."""
    if Device.objects.filter(adapter=SENSOR_ADAPTER, key__startswith=SENSOR_PREFIX).exists():
        return
    for model, offline_after, low_at in SENSOR_KINDS:
        DeviceKind.objects.get_or_create(
            model=model, defaults={"offline_after": offline_after, "low_battery_percent": low_at}
        )
    rng = random.Random(seed)  # noqa: S311 - fake demo data, not secrets
    alone = list(
        Household.objects.filter(residents__tags__code="living_alone")
        .distinct()
        .order_by("pk")
        .select_related("area")
    )
    homes = rng.sample(alone, min(SENSORS_INSTALLED, len(alone)))
    if len(homes) < SENSORS_INSTALLED:
        others = Household.objects.exclude(pk__in=[h.pk for h in homes]).select_related("area")
        homes += list(others.order_by("pk")[: SENSORS_INSTALLED - len(homes)])
    homes.sort(key=lambda home: (home.area.path, home.door))
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path"))
    for number in range(1, SENSORS + 1):
        model = SENSOR_KINDS[number % len(SENSOR_KINDS)][0]
        home = homes[number - 1] if number <= len(homes) else None
        stock = (
            _community_of(home.area) if home is not None else communities[number % len(communities)]
        )
        device = register_device(
            None,
            SENSOR_ADAPTER,
            f"{SENSOR_PREFIX}{number:03d}",
            stock,
            model=model,
            label=f"MC{number:05d}",
        )
        if home is not None:
            install_device(None, device, home, note="演示")


def _seed_ingest_key(street: Area, var_dir: Path) -> Path:
    """The demo gateway's key for the generic adapter. Only its hash is in the database, so
    the plaintext is kept in var/ for the simulator; a key file that no longer matches an
    active key (a fresh database) is replaced."""
    path = var_dir / INGEST_KEY_FILE
    with contextlib.suppress(OSError):
        plaintext = path.read_text(encoding="utf-8").strip()
        if (
            plaintext
            and IngestKey.objects.filter(key_hash=hash_key(plaintext), active=True).exists()
        ):
            return path
    _, plaintext = create_ingest_key(None, INGEST_KEY_NAME, SENSOR_ADAPTER, area=street)
    var_dir.mkdir(parents=True, exist_ok=True)
    write_private(path, plaintext)
    return path
