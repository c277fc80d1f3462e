"""The demo town: fake but realistic residents, seeded through the same actions as real data."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from faker import Faker

from shouwang.core import identity
from shouwang.core.models import Area, AreaKind, Household, Role, User
from shouwang.core.services.areas import create_area
from shouwang.core.services.roster import import_roster
from shouwang.core.services.staff import create_staff
from shouwang.devices.models import Device, DeviceKind, DeviceStatus, IngestKey
from shouwang.devices.services.keys import create_ingest_key, hash_key
from shouwang.devices.services.lifecycle import install_device, register_device

DEMO_PASSWORD = "shouwang-demo"  # noqa: S105 - printed to the person running the demo
TOWN_NAME = "守望街道"

# community → compounds → (buildings, units per building, floors, doors per floor)
LAYOUT = {
    "东风社区": {"东风花园": (4, 2, 5, 2), "东风新村": (2, 2, 5, 2)},
    "向阳社区": {"向阳小区": (3, 2, 5, 2), "向阳里": (2, 2, 3, 2)},
}
REGION_CODES = ["110101", "110105", "310104", "320102", "420106", "440305"]

# Door sensors: pushed through a gateway speaking Shouwang's generic format, so the simulator
# can drive them over HTTP with the demo's own ingest key.
SENSOR_ADAPTER = "generic"
SENSOR_PREFIX = "demo-door-"
SENSORS = 40
SENSORS_INSTALLED = 30
# (model, offline after, low battery at %)
SENSOR_KINDS = [("MCCGQ11LM", timedelta(hours=25), 20), ("WS301", timedelta(hours=25), 25)]
INGEST_KEY_NAME = "演示门磁网关"
INGEST_KEY_FILE = "demo_ingest_key"


@dataclass
class DemoTown:
    name: str
    workers: list[tuple[str, str]] = field(default_factory=list)
    # Ids of the door sensors installed at households (what the simulator drives).
    sensors: list[str] = field(default_factory=list)
    sensors_in_stock: int = 0
    # The plaintext of the demo's generic ingest key lives here (0600), never in the database.
    ingest_key_file: Path | None = None
    # The gate guard's compound, and the demo turnstile's key (0600) for the gate API.
    guard_compound: str = ""
    gate_key_file: Path | None = None

    def ingest_key(self) -> str:
        if self.ingest_key_file is None:
            return ""
        return self.ingest_key_file.read_text(encoding="utf-8").strip()


def fake_id_number(rng: random.Random, birth: date) -> str:
    first17 = f"{rng.choice(REGION_CODES)}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return first17 + identity.id_check_char(first17)


def _roster(rng: random.Random, fake: Faker, shape: tuple[int, int, int, int]) -> bytes:
    buildings, units, floors, doors = shape
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"])
    today = date(2026, 1, 1)
    for b in range(1, buildings + 1):
        for u in range(1, units + 1):
            for floor in range(1, floors + 1):
                for d in range(1, doors + 1):
                    door = f"{floor}{d:02d}"
                    size = rng.choice([1, 1, 2, 2, 3, 3, 4])
                    for _ in range(size):
                        age = rng.randint(70, 92) if size == 1 else rng.randint(3, 85)
                        birth = today - timedelta(days=age * 365 + rng.randint(0, 364))
                        tags = []
                        if age >= 60:
                            tags.append("老年人")
                        if size == 1 and age >= 70:
                            tags.append("独居老人")
                        writer.writerow(
                            [
                                fake.name(),
                                fake_id_number(rng, birth),
                                fake.phone_number(),
                                b,
                                u,
                                door,
                                "、".join(tags),
                            ]
                        )
    return out.getvalue().encode()


def seed_demo_town(seed: int = 2020) -> DemoTown:
    """Create the demo town once; later calls only report what is there (and add what an older
    demo lacked: its door sensors and ingest key)."""
    town = DemoTown(TOWN_NAME)
    street = Area.objects.filter(name=TOWN_NAME, kind=AreaKind.STREET).first()
    if street is None:
        street = _seed_people(town, seed)
    else:
        for user in User.objects.filter(role=Role.COMMUNITY_WORKER).prefetch_related("areas"):
            town.workers.append((user.username, "、".join(a.name for a in user.areas.all())))
    _seed_sensors(seed)
    _seed_cases_and_care(seed)
    town.ingest_key_file = _seed_ingest_key(street, Path(settings.VAR_DIR))
    town.guard_compound = _seed_guard(street)
    town.gate_key_file = _seed_passes()
    demo_sensors = Device.objects.filter(adapter=SENSOR_ADAPTER, key__startswith=SENSOR_PREFIX)
    town.sensors = list(
        demo_sensors.filter(status=DeviceStatus.INSTALLED)
        .order_by("key")
        .values_list("key", flat=True)
    )
    town.sensors_in_stock = demo_sensors.filter(status=DeviceStatus.IN_STOCK).count()
    return town


def _seed_people(town: DemoTown, seed: int) -> Area:
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    district = create_area(None, None, "示范区", AreaKind.DISTRICT)
    street = create_area(None, district, TOWN_NAME, AreaKind.STREET)
    create_staff(None, "admin", DEMO_PASSWORD, Role.PLATFORM_ADMIN, [], "平台管理员")
    create_staff(None, "town", DEMO_PASSWORD, Role.TOWN_OPERATOR, [street], "街道值班员")
    for number, (community_name, compounds) in enumerate(LAYOUT.items(), start=1):
        community = create_area(None, street, community_name, AreaKind.COMMUNITY)
        username = f"worker{number}"
        create_staff(
            None,
            username,
            DEMO_PASSWORD,
            Role.COMMUNITY_WORKER,
            [community],
            f"{community_name}网格员",
        )
        town.workers.append((username, community_name))
        for compound_name, shape in compounds.items():
            compound = create_area(None, community, compound_name, AreaKind.COMPOUND)
            report = import_roster(
                None, compound, f"{compound_name}.csv", _roster(rng, fake, shape)
            )
            if not report.ok:
                raise RuntimeError(f"demo roster rejected: {report.errors[:3]}")
    return street


def _community_of(area: Area) -> Area:
    community: Area | None = Area.objects.filter(
        path__in=[*area.ancestor_paths(), area.path], kind=AreaKind.COMMUNITY
    ).first()
    return community or area


def _seed_sensors(seed: int) -> None:
    """About 40 door sensors, registered and installed through the lifecycle actions: most at
    households of elderly people living alone (the care watch is what they are for), the rest
    in the communities' stock."""
    if Device.objects.filter(adapter=SENSOR_ADAPTER, key__startswith=SENSOR_PREFIX).exists():
        return
    for model, offline_after, low_at in SENSOR_KINDS:
        DeviceKind.objects.get_or_create(
            model=model, defaults={"offline_after": offline_after, "low_battery_percent": low_at}
        )
    rng = random.Random(seed)
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


def _write_private(path: Path, text: str) -> None:
    # 0600 from the moment it exists, then moved into place (replacing a stale key file).
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(temporary, path)


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
    _write_private(path, plaintext)
    return path


def _seed_guard(street: Area) -> str:
    """A gate guard at the first compound (added to an older demo that lacks one)."""
    compound = (
        Area.objects.filter(path__startswith=street.path, kind=AreaKind.COMPOUND)
        .order_by("path")
        .first()
    )
    if compound is None:
        return ""
    if not User.objects.filter(username="guard").exists():
        create_staff(None, "guard", DEMO_PASSWORD, Role.GATE_GUARD, [compound], "门岗值班")
    return str(compound.name)


def _seed_passes() -> Path:
    """A pass for every resident and a demo turnstile (the passes app's own demo data)."""
    from shouwang.passes.demo import gate_key_file, seed_demo

    seed_demo()
    return gate_key_file()


def _seed_cases_and_care(seed: int) -> None:
    """A few households in home quarantine and elderly people under care watch, so the
    simulated doors raise alerts on the console (the quarantine app's own demo data)."""
    from shouwang.quarantine.demo import seed_demo

    seed_demo(seed)
