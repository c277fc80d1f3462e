"""A device's life, action by action: every step audited, every wrong step refused.

registered or claimed into stock → installed at a household → recovered (back to the
community's stock) → back in stock → … → retired or lost. Out of the actor's areas is "not
found"; a role without device work is "forbidden".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import translation

from shouwang.core.models import AuditLog, Role, User
from shouwang.core.services.people import create_household
from shouwang.core.services.staff import create_staff
from shouwang.devices.models import Device, DeviceStatus, Installation
from shouwang.devices.services.lifecycle import (
    can_manage,
    claim_device,
    find_device,
    install_device,
    mark_lost,
    recover_device,
    register_device,
    restock_device,
    retire_device,
)
from tests.conftest import PASSWORD, Town


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The refusals are matched by their English text (the UI shows them translated)."""
    with translation.override("en"):
        yield


def stock(town: Town, key: str = "door-1", side: str = "east", **fields: Any) -> Device:
    area = getattr(town, side)
    return register_device(None, "generic", key, area, **fields)


def installed(town: Town, key: str = "door-1") -> Device:
    return install_device(None, stock(town, key), town.east_home)


def audits(action: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action).order_by("id"))


def second_east_worker(town: Town) -> User:
    return create_staff(None, "east2", PASSWORD, Role.COMMUNITY_WORKER, [town.east])


# --- Registering and claiming ----------------------------------------------------------------


def test_register_puts_a_new_device_into_stock(town: Town) -> None:
    device = register_device(
        town.east_worker, "generic", " door-1 ", town.east, model="MCCGQ11LM", label="A001"
    )
    assert (device.status, device.area, device.key, device.label) == (
        DeviceStatus.IN_STOCK,
        town.east,
        "door-1",
        "A001",
    )
    [entry] = audits("device.register")
    assert (entry.actor, entry.area, entry.target_id) == (
        town.east_worker,
        town.east,
        str(device.pk),
    )


def test_register_refuses_duplicates_unknown_adapters_and_blank_ids(town: Town) -> None:
    stock(town)
    with pytest.raises(ValidationError, match="already registered"):
        register_device(town.east_worker, "generic", "door-1", town.east)
    with pytest.raises(ValidationError, match="adapter"):
        register_device(town.east_worker, "nope", "door-2", town.east)
    with pytest.raises(ValidationError, match="required"):
        register_device(town.east_worker, "generic", "  ", town.east)
    assert Device.objects.count() == 1


def test_register_outside_ones_areas_is_not_found_and_a_guard_is_forbidden(town: Town) -> None:
    with pytest.raises(Http404):
        register_device(town.east_worker, "generic", "door-1", town.west)
    with pytest.raises(PermissionDenied):
        register_device(town.gate_guard, "generic", "door-1", town.east_compound)
    assert not Device.objects.exists()
    assert not audits("device.register")


def heard_from(town: Town, key: str = "heard-1", side: str | None = "east") -> Device:
    """A device that sent messages before anyone registered it (as the ingest path makes it)."""
    area = getattr(town, side) if side else None
    return Device.objects.create(adapter="generic", key=key, area=area)


def test_claim_takes_an_unclaimed_device_into_stock(town: Town) -> None:
    device = heard_from(town)
    assert device.status == DeviceStatus.UNCLAIMED
    claim_device(town.east_worker, device, town.east_compound, model="DS01", label="B7")
    device.refresh_from_db()
    assert (device.status, device.area, device.model, device.label) == (
        DeviceStatus.IN_STOCK,
        town.east_compound,
        "DS01",
        "B7",
    )
    [entry] = audits("device.claim")
    assert (entry.actor, entry.area) == (town.east_worker, town.east_compound)


def test_claim_refusals(town: Town) -> None:
    device = heard_from(town)
    with pytest.raises(Http404):  # into another community's stock
        claim_device(town.east_worker, device, town.west)
    with pytest.raises(Http404):  # a device heard in another community
        claim_device(town.east_worker, heard_from(town, "heard-2", "west"), town.east)
    with pytest.raises(PermissionDenied):
        claim_device(town.gate_guard, device, town.east_compound)
    with pytest.raises(ValidationError, match="unclaimed"):
        claim_device(town.east_worker, stock(town), town.east)
    device.refresh_from_db()
    assert device.status == DeviceStatus.UNCLAIMED
    assert not audits("device.claim")


def test_a_device_heard_nowhere_is_claimed_by_the_platform_only(town: Town) -> None:
    device = heard_from(town, side=None)
    assert not Device.objects.visible_to(town.town_operator).filter(pk=device.pk).exists()
    assert not can_manage(town.town_operator, device)
    assert can_manage(town.admin, device)
    claim_device(town.admin, device, town.west)
    device.refresh_from_db()
    assert (device.status, device.area) == (DeviceStatus.IN_STOCK, town.west)


# --- Installing -------------------------------------------------------------------------------


def test_install_puts_the_device_at_the_household_with_history_and_audit(town: Town) -> None:
    device = stock(town)
    install_device(town.east_worker, device, town.east_home, note="门框左侧")
    device.refresh_from_db()
    assert (device.status, device.household, device.area) == (
        DeviceStatus.INSTALLED,
        town.east_home,
        town.east_unit,
    )
    [stay] = Installation.objects.filter(device=device)
    assert (stay.household, stay.installed_by, stay.recovered_at, stay.note) == (
        town.east_home,
        town.east_worker,
        None,
        "门框左侧",
    )
    [entry] = audits("device.install")
    assert (entry.actor, entry.area, entry.details) == (
        town.east_worker,
        town.east_unit,
        {"household": town.east_home.pk},
    )
    assert entry.source == "system"  # no request: the origin middleware sets "web" or "api"


def test_a_recovered_device_can_be_installed_again(town: Town) -> None:
    device = installed(town)
    recover_device(town.east_worker, device)
    install_device(town.east_worker, device, town.east_home)
    assert device.status == DeviceStatus.INSTALLED


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda t, d: install_device(None, d, t.east_home), "only devices in stock"),
        (lambda t, d: retire_device(None, d), "only devices in stock"),
        (lambda t, d: mark_lost(None, d), "only devices in stock"),
    ],
    ids=["installed", "retired", "lost"],
)
def test_install_refuses_a_device_that_is_not_in_stock(
    town: Town, prepare: Any, message: str
) -> None:
    device = stock(town)
    prepare(town, device)
    device.refresh_from_db()
    before = (device.status, device.household_id, Installation.objects.count())
    other = create_household(None, town.east_unit, "502")
    with pytest.raises(ValidationError, match=message):
        install_device(town.east_worker, device, other)
    device.refresh_from_db()
    assert (device.status, device.household_id, Installation.objects.count()) == before


def test_install_refuses_an_unclaimed_device(town: Town) -> None:
    device = heard_from(town)
    with pytest.raises(ValidationError):
        install_device(town.east_worker, device, town.east_home)
    assert not Installation.objects.exists()


def test_install_out_of_scope_is_not_found(town: Town) -> None:
    with pytest.raises(Http404):  # the household is in another community
        install_device(town.east_worker, stock(town), town.west_home)
    with pytest.raises(Http404):  # the device is in another community's stock
        install_device(town.east_worker, stock(town, "door-2", "west"), town.east_home)
    with pytest.raises(PermissionDenied):
        install_device(town.gate_guard, stock(town, "door-3"), town.east_home)
    assert not Installation.objects.exists()
    assert not audits("device.install")


def test_two_workers_installing_the_same_device_one_wins(town: Town) -> None:
    """Both loaded the device while it was in stock; the second install finds it taken."""
    stock(town)
    other_worker = second_east_worker(town)
    first = Device.objects.get(key="door-1")
    second = Device.objects.get(key="door-1")
    other_home = create_household(None, town.east_unit, "502")
    install_device(town.east_worker, first, town.east_home)
    with pytest.raises(ValidationError, match="Someone else has just installed"):
        install_device(other_worker, second, other_home)
    device = Device.objects.get(key="door-1")
    assert device.household == town.east_home
    assert Installation.objects.filter(device=device).count() == 1
    assert [e.actor for e in audits("device.install")] == [town.east_worker]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a server database")
@pytest.mark.django_db(transaction=True)
def test_two_workers_installing_at_the_same_moment_one_wins(town: Town) -> None:
    stock(town)
    workers = [town.east_worker, second_east_worker(town)]
    homes = [town.east_home, create_household(None, town.east_unit, "502")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(worker: User, home: Any) -> None:
        device = Device.objects.get(key="door-1")
        barrier.wait()
        try:
            install_device(worker, device, home)
            outcomes.append("installed")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(workers, homes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["installed", "refused"]
    assert Installation.objects.count() == 1


# --- Recovering, restocking, retiring, losing --------------------------------------------------


def test_recover_closes_the_stay_and_returns_the_device_to_the_communitys_stock(
    town: Town,
) -> None:
    device = installed(town)
    recover_device(town.east_worker, device, note="隔离结束")
    device.refresh_from_db()
    assert (device.status, device.household, device.area) == (
        DeviceStatus.RECOVERED,
        None,
        town.east,  # the community, not the unit it was installed in
    )
    stay = Installation.objects.get(device=device)
    assert stay.recovered_by == town.east_worker
    assert stay.recovered_at is not None
    assert stay.note == "隔离结束"
    [entry] = audits("device.recover")
    assert (entry.actor, entry.area, entry.details) == (
        town.east_worker,
        town.east,
        {"household": town.east_home.pk, "note": "隔离结束"},
    )


def test_recover_refuses_a_device_that_is_not_installed(town: Town) -> None:
    device = stock(town)
    with pytest.raises(ValidationError, match="Only installed devices"):
        recover_device(town.east_worker, device)
    installed_one = installed(town, "door-2")
    stale = Device.objects.get(pk=installed_one.pk)
    recover_device(town.east_worker, installed_one)
    with pytest.raises(ValidationError, match="Someone else has just recovered"):
        recover_device(town.east_worker, stale)
    assert len(audits("device.recover")) == 1


def test_recover_out_of_scope_is_not_found(town: Town) -> None:
    device = install_device(None, stock(town, side="west"), town.west_home)
    with pytest.raises(Http404):
        recover_device(town.east_worker, device)
    with pytest.raises(PermissionDenied):
        recover_device(town.gate_guard, device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.INSTALLED


def test_installation_history_keeps_every_stay_newest_first(town: Town) -> None:
    device = stock(town)
    other_home = create_household(None, town.east_unit, "502")
    install_device(town.east_worker, device, town.east_home)
    recover_device(town.east_worker, device)
    install_device(town.east_worker, device, other_home)
    stays = list(device.installations.all())
    assert [s.household for s in stays] == [other_home, town.east_home]
    assert stays[0].recovered_at is None
    assert stays[1].recovered_at is not None
    assert stays[1].recovered_by == town.east_worker


def test_restock(town: Town) -> None:
    device = installed(town)
    with pytest.raises(ValidationError, match="Only recovered"):
        restock_device(town.east_worker, device)
    recover_device(town.east_worker, device)
    restock_device(town.east_worker, device, note="已清洁")
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK
    with pytest.raises(ValidationError, match="Only recovered"):
        restock_device(town.east_worker, device)
    [entry] = audits("device.restock")
    assert entry.details == {"note": "已清洁"}


def test_retire(town: Town) -> None:
    device = installed(town)
    with pytest.raises(ValidationError, match="Recover the device"):
        retire_device(town.east_worker, device)
    recover_device(town.east_worker, device)
    retire_device(town.east_worker, device, note="外壳破损")
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETIRED
    with pytest.raises(ValidationError, match="already retired or lost"):
        retire_device(town.east_worker, device)
    with pytest.raises(ValidationError, match="already retired or lost"):
        mark_lost(town.east_worker, device)
    assert len(audits("device.retire")) == 1


def test_a_device_lost_from_a_door_has_its_stay_closed(town: Town) -> None:
    device = installed(town)
    mark_lost(town.east_worker, device, note="住户称已丢失")
    device.refresh_from_db()
    assert (device.status, device.household) == (DeviceStatus.LOST, None)
    stay = Installation.objects.get(device=device)
    assert stay.recovered_at is not None
    assert [
        a.action
        for a in AuditLog.objects.filter(
            target_type="devices.device", target_id=str(device.pk)
        ).order_by("id")
    ] == [
        "device.register",
        "device.install",
        "device.recover",
        "device.lost",
    ]
    with pytest.raises(ValidationError, match="already retired or lost"):
        mark_lost(town.east_worker, device)


def test_closing_actions_out_of_scope(town: Town) -> None:
    device = stock(town, side="west")
    for action in (retire_device, mark_lost):
        with pytest.raises(Http404):
            action(town.east_worker, device)
        with pytest.raises(PermissionDenied):
            action(town.gate_guard, device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK


# --- Finding a device by what a worker scanned -----------------------------------------------


def test_find_device_by_id_label_or_hardware_id_in_any_spelling(town: Town) -> None:
    device = stock(town, "0x00124b001c2d3e4f", label="SW-0042", hardware_id="00124b001c2d3e4f")
    for typed in (
        "0x00124b001c2d3e4f",
        "0X00124B001C2D3E4F",
        "sw-0042",
        "00:12:4B:00:1C:2D:3E:4F",
        " 00124b001c2d3e4f\n",
    ):
        assert find_device(town.east_worker, typed) == device, typed
    assert find_device(town.east_worker, "") is None
    assert find_device(town.east_worker, "nope") is None


def test_find_device_does_not_find_another_communitys_device(town: Town) -> None:
    stock(town, "west-door", side="west")
    assert find_device(town.east_worker, "west-door") is None
    assert find_device(town.west_worker, "west-door") is not None
    assert find_device(town.town_operator, "west-door") is not None


def test_can_manage(town: Town) -> None:
    east = stock(town)
    west = stock(town, "door-2", side="west")
    assert can_manage(town.east_worker, east)
    assert not can_manage(town.east_worker, west)
    assert can_manage(town.town_operator, west)
    assert not can_manage(town.gate_guard, east)
