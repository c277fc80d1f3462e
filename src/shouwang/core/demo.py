"""The demo town: fake but realistic residents, seeded through the same actions as real data.

Core seeds the areas, residents and staff; each app adds its own part through `register`
(in its `AppConfig.ready()`), so core knows no app. `shouwang demo` (the runtime app) runs it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from shouwang.core import identity
from shouwang.core.models import Area, AreaKind, Role, User
from shouwang.core.services.areas import create_area
from shouwang.core.services.roster import import_roster
from shouwang.core.services.staff import create_staff

DEMO_PASSWORD = "shouwang-demo"  # noqa: S105 - printed to the person running the demo
TOWN_NAME = "守望街道"

# community → compounds → (buildings, units per building, floors, doors per floor)
LAYOUT = {
    "东风社区": {"东风花园": (4, 2, 5, 2), "东风新村": (2, 2, 5, 2)},
    "向阳社区": {"向阳小区": (3, 2, 5, 2), "向阳里": (2, 2, 3, 2)},
}
REGION_CODES = ["110101", "110105", "310104", "320102", "420106", "440305"]


@dataclass
class DemoTown:
    """What the demo made, filled in by core and then by each registered part."""

    name: str
    seed: int = 2020
    street: Area | None = None
    workers: list[tuple[str, str]] = field(default_factory=list)
    # Ids of the door sensors installed at households (what the simulator drives).
    sensors: list[str] = field(default_factory=list)
    sensors_in_stock: int = 0
    # The plaintext of the demo's generic ingest key lives here (0600), never in the database.
    ingest_key_file: Path | None = None
    # The gate guard's compound, and the demo turnstile's key (0600) for the gate API.
    guard_compound: str = ""
    gate_key_file: Path | None = None
    # The receiver `shouwang demo` hosts for the demo's notifications (json://host:port/);
    # empty: no receiver runs, no channel is seeded.
    notify_url: str = ""

    def ingest_key(self) -> str:
        if self.ingest_key_file is None:
            return ""
        return self.ingest_key_file.read_text(encoding="utf-8").strip()


class DemoPart(Protocol):
    """An app's share of the demo town: seeds it once (later calls add only what is missing)
    and fills in its fields of `town`."""

    def __call__(self, town: DemoTown, /) -> None: ...


# name → (order, name, part). Registered in AppConfig.ready(): devices (sensors and their
# ingest key), quarantine (cases and care watch), passes (passes and a turnstile), alerts (a
# webhook channel to the demo's own receiver).
_PARTS: dict[str, tuple[int, str, DemoPart]] = {}


def register(name: str, part: DemoPart, order: int) -> None:
    if name in _PARTS:
        raise ImproperlyConfigured(f"demo part {name!r} is registered twice")
    _PARTS[name] = (order, name, part)


def registered_parts() -> list[str]:
    return [name for _, name, _ in sorted(_PARTS.values(), key=lambda p: (p[0], p[1]))]


def fake_id_number(rng: random.Random, birth: date) -> str:
    first17 = f"{rng.choice(REGION_CODES)}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return first17 + identity.id_check_char(first17)


def _roster(rng: random.Random, fake: Any, shape: tuple[int, int, int, int]) -> bytes:
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


def seed_demo_town(seed: int = 2020, notify_url: str = "") -> DemoTown:
    """Create the demo town once; later calls only report what is there and add what an
    older demo lacked. Core seeds the areas, residents and staff; then every registered part,
    in order. `notify_url`: where the demo's receiver of notifications listens, if it runs."""
    town = DemoTown(TOWN_NAME, seed=seed, notify_url=notify_url)
    street = Area.objects.filter(name=TOWN_NAME, kind=AreaKind.STREET).first()
    if street is None:
        street = _seed_people(town, seed)
    else:
        for user in User.objects.filter(role=Role.COMMUNITY_WORKER).prefetch_related("areas"):
            town.workers.append((user.username, "、".join(a.name for a in user.areas.all())))
    town.street = street
    town.guard_compound = _seed_guard(street)
    for _, _, part in sorted(_PARTS.values(), key=lambda p: (p[0], p[1])):
        part(town)
    return town


def _seed_people(town: DemoTown, seed: int) -> Area:
    rng = random.Random(seed)
    from faker import Faker  # only the demo needs it: not loaded by every process

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


def write_private(path: Path, text: str) -> None:
    # 0600 from the moment it exists, then moved into place (replacing a stale key file).
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(temporary, path)


def _seed_guard(street: Area) -> str:
    """A gate guard and a property office at the first compound (added to an older demo that
    lacks them)."""
    compound = (
        Area.objects.filter(path__startswith=street.path, kind=AreaKind.COMPOUND)
        .order_by("path")
        .first()
    )
    if compound is None:
        return ""
    if not User.objects.filter(username="guard").exists():
        create_staff(None, "guard", DEMO_PASSWORD, Role.GATE_GUARD, [compound], "门岗值班")
    # The same compound's property office, sent to the door when a door alert fires (上门).
    if not User.objects.filter(username="property").exists():
        create_staff(None, "property", DEMO_PASSWORD, Role.PROPERTY_OFFICE, [compound], "物业值班")
    return str(compound.name)
