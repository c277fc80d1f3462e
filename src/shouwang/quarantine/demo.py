"""The demo town's quarantine and care watch, seeded through the same actions as real work:
a few active cases (sensors installed from the communities' stock), health checks (one with
a fever, one household that has not checked in), a scheduled garbage collection, one case
extended, one ended with its sensor still to take back, and elderly people living alone
under care watch with their family contacts (one paused for a hospital stay).

Idempotent: does nothing once any case or enrolment exists. Households that already have a
watch (an older demo's) are left alone, so no household gets a second quarantine watch."""

from __future__ import annotations

import random
from datetime import time, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from shouwang.core.demo import DemoTown
from shouwang.core.models import Household
from shouwang.devices.models import Device, DeviceStatus
from shouwang.quarantine.models import CareEnrolment, Case, ServiceKind, Source, Watch
from shouwang.quarantine.services import care, cases, health
from shouwang.quarantine.services.care import CareData, Contact
from shouwang.quarantine.services.cases import CaseData

ACTIVE_CASES = 4
CARE_ENROLMENTS = 5
SOURCES = [Source.RISK_AREA, Source.CLOSE_CONTACT, Source.SECONDARY_CONTACT, Source.INBOUND]
REASONS = ["自中风险地区返回", "与确诊病例同一航班", "密接的密接", "入境满14天集中隔离后转居家"]
TEMPERATURES = ["36.5", "37.6", None, "36.8", "36.4"]


def demo_part(town: DemoTown) -> None:
    """Registered with `core.demo` in `QuarantineConfig.ready()`: after the sensors."""
    seed_demo(town.seed)


def seed_demo(seed: int = 2020) -> None:
    if Case.objects.exists() or CareEnrolment.objects.exists():
        return
    rng = random.Random(seed)  # noqa: S311 - fake demo data, not secrets
    watched = Watch.objects.filter(household=OuterRef("pk"))
    unwatched = Household.objects.annotate(watched=Exists(watched)).filter(watched=False)
    _seed_cases(rng, unwatched)
    _seed_care(rng, unwatched)


def _seed_cases(rng: random.Random, unwatched: QuerySet[Household]) -> None:
    stock = list(
        Device.objects.filter(status__in=[DeviceStatus.IN_STOCK, DeviceStatus.RECOVERED])
        .select_related("area")
        .order_by("key")
    )
    homes = list(
        Household.objects.filter(pk__in=unwatched.values("pk"))
        .filter(residents__isnull=False, installations__isnull=True)
        .distinct()
        .select_related("area")
        .order_by("pk")
    )
    if not homes:
        return
    chosen: list[tuple[Household, Device | None]] = []
    for device in stock:
        # A sensor goes to a household of its own community (the stock's area).
        home = next(
            (
                h
                for h in homes
                if device.area is not None and h.area.path.startswith(device.area.path)
            ),
            None,
        )
        if home is None:
            continue
        homes.remove(home)
        chosen.append((home, device))
        if len(chosen) == ACTIVE_CASES + 1:
            break
    today = timezone.localdate()
    for index, (home, sensor) in enumerate(chosen):
        people = list(home.residents.order_by("pk"))
        # The one that ends today (期满解除) has served its 14 days.
        served = 13 if index == ACTIVE_CASES else rng.randint(2, 10)
        case = cases.start_case(
            None,
            home,
            CaseData(
                people=people,
                source=SOURCES[index % len(SOURCES)],
                reason=REASONS[index % len(REASONS)],
                starts_on=today - timedelta(days=served),
                days=14 if index == ACTIVE_CASES else None,
                device=sensor,
                no_device_reason="" if sensor else "库存不足",
            ),
        )
        if index == ACTIVE_CASES:
            # Ended today: its sensor is on the list to take back.
            cases.end_case(None, case, "completed")
            continue
        temperature = TEMPERATURES[index % len(TEMPERATURES)]
        if temperature is not None:
            for number, person in enumerate(people):
                # The first person's reading tells the story; the others are well.
                health.enter_check(None, case, person, temperature if number == 0 else "36.6", [])
        if index == 0:
            at = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=18)
            cases.log_service(
                None, case, ServiceKind.GARBAGE, at, "每日收垃圾", minutes=15, scheduled=True
            )
            cases.log_service(None, case, ServiceKind.SUPPLIES, timezone.now(), "代购米面油")
        if index == 1:
            cases.change_end(None, case, case.planned_end + timedelta(days=7), "同住人核酸异常")


def _seed_care(rng: random.Random, unwatched: QuerySet[Household]) -> None:
    """Elderly people living alone whose door already has a sensor (the demo installs most
    sensors there), watched during the day."""
    sensors = list(
        Device.objects.filter(
            status=DeviceStatus.INSTALLED,
            household__in=unwatched.values("pk"),
            household__residents__tags__code="living_alone",
        )
        .exclude(household__quarantine_cases__status="active")
        .select_related("household")
        .distinct()
        .order_by("key")[:CARE_ENROLMENTS]
    )
    for index, device in enumerate(sensors):
        household = device.household
        if household is None:
            continue
        person = household.residents.order_by("pk").first()
        if person is None:
            continue
        enrolment = care.enrol(
            None,
            person,
            CareData(
                active_from=time(7, 0),
                active_until=time(21, 0),
                inactive_hours=Decimal(rng.choice(["6", "8", "12"])),
                device=device,
                contacts=[
                    Contact(
                        person.name[0] + rng.choice(["小明", "丽", "建国", "芳"]),
                        f"139{rng.randint(10_000_000, 99_999_999)}",
                        rng.choice(["儿子", "女儿", "侄子"]),
                    )
                ],
            ),
        )
        if index == CARE_ENROLMENTS - 1:
            care.set_paused(None, enrolment, True, "住院治疗")
