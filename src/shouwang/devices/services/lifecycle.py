"""A device's life: registered or claimed into stock, installed at a household, recovered,
back to stock, and finally retired (or lost). Every step is an audited action."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area, AreaKind, Household
from shouwang.core.permissions import require, require_area
from shouwang.core.scoping import user_covers_area
from shouwang.devices import perms as device_perms
from shouwang.devices.adapters import ADAPTERS
from shouwang.devices.models import Device, DeviceStatus, Installation

MANAGE = device_perms.MANAGE_DEVICES

_INSTALLABLE = {DeviceStatus.IN_STOCK, DeviceStatus.RECOVERED}
_CLOSED = {DeviceStatus.RETIRED, DeviceStatus.LOST}


def _bad(message: str) -> ValidationError:
    return ValidationError(message, code="device_state")


def _normalise_id(text: str) -> str:
    """Scanned or typed ids: "00:12:4B:00:1C:2D:3E:4F" and "00124b001c2d3e4f" are the same."""
    compact = re.sub(r"[\s:\-]", "", text or "").lower()
    return compact


def find_device(actor: Any, text: str) -> Device | None:
    """The visible device a worker typed or scanned: its id, hardware id or sticker label."""
    text = (text or "").strip()
    if not text:
        return None
    compact = _normalise_id(text)
    queryset = Device.objects.visible_to(actor)
    match = Q(key__iexact=text) | Q(label__iexact=text) | Q(hardware_id__iexact=text)
    if compact != text.lower():
        match |= Q(key__iexact=compact) | Q(hardware_id__iexact=compact)
    if compact.startswith("0x"):
        match |= Q(hardware_id__iexact=compact[2:]) | Q(key__iexact=compact[2:])
    else:
        match |= Q(hardware_id__iexact="0x" + compact)
    return queryset.filter(match).order_by("pk").first()


def register_device(
    actor: Any,
    adapter: str,
    key: str,
    area: Area,
    model: str = "",
    label: str = "",
    hardware_id: str = "",
) -> Device:
    """Put a new device into an area's stock before it has ever sent a message."""
    require(actor, MANAGE)
    require_area(actor, area.path)
    if adapter not in ADAPTERS:
        raise ValidationError({"adapter": [_("Unknown adapter.")]})
    key = key.strip()
    if not key:
        raise ValidationError({"key": [_("The device id is required.")]})
    with transaction.atomic():
        device, created = Device.objects.get_or_create(
            adapter=adapter,
            key=key,
            defaults={
                "status": DeviceStatus.IN_STOCK,
                "area": area,
                "model": model,
                "label": label,
                "hardware_id": hardware_id,
            },
        )
        if not created:
            raise ValidationError({"key": [_("This device is already registered.")]})
        audit.record(
            "device.register",
            actor=actor,
            target=device,
            area=area,
            details={"adapter": adapter, "key": key, "model": model},
        )
    return device


def claim_device(
    actor: Any, device: Device, area: Area, model: str = "", label: str = ""
) -> Device:
    """Take a device that was heard from but never registered into an area's stock."""
    require(actor, MANAGE)
    require_area(actor, area.path)
    if device.area is not None:
        require_area(actor, device.area.path)
    if device.status != DeviceStatus.UNCLAIMED:
        raise _bad(_("Only unclaimed devices can be claimed."))
    with transaction.atomic():
        device.status = DeviceStatus.IN_STOCK
        device.area = area
        device.model = model or device.model
        device.label = label or device.label
        device.save(update_fields=["status", "area", "model", "label"])
        audit.record("device.claim", actor=actor, target=device, area=area)
    return device


def install_device(actor: Any, device: Device, household: Household, note: str = "") -> Device:
    require(actor, MANAGE)
    require_area(actor, household.area.path)
    if device.area is not None:
        require_area(actor, device.area.path)
    if device.status not in _INSTALLABLE:
        raise _bad(
            _("This device is %(status)s; only devices in stock can be installed.")
            % {"status": DeviceStatus(device.status).label}
        )
    now = timezone.now()
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.status not in _INSTALLABLE:
            raise _bad(_("Someone else has just installed this device."))
        Installation.objects.create(
            device=locked,
            household=household,
            installed_at=now,
            installed_by=actor if actor is not None else None,
            note=note[:200],
        )
        locked.status = DeviceStatus.INSTALLED
        locked.household = household
        locked.area = household.area
        locked.save(update_fields=["status", "household", "area"])
        audit.record(
            "device.install",
            actor=actor,
            target=locked,
            area=household.area,
            details={"household": household.pk},
        )
    device.refresh_from_db()
    return device


def _stock_area(area: Area) -> Area:
    """Recovered devices go back to the community's stock."""
    community = Area.objects.filter(
        path__in=[*area.ancestor_paths(), area.path], kind=AreaKind.COMMUNITY
    ).first()
    return community or area


def recover_device(actor: Any, device: Device, note: str = "") -> Device:
    require(actor, MANAGE)
    if device.area is not None:
        require_area(actor, device.area.path)
    if device.status != DeviceStatus.INSTALLED:
        raise _bad(_("Only installed devices can be recovered."))
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Device.objects.select_for_update(of=("self",)).select_related("area").get(pk=device.pk)
        )
        if locked.status != DeviceStatus.INSTALLED:
            raise _bad(_("Someone else has just recovered this device."))
        household_id = locked.household_id
        Installation.objects.filter(device=locked, recovered_at__isnull=True).update(
            recovered_at=now, recovered_by=actor if actor is not None else None, note=note[:200]
        )
        locked.status = DeviceStatus.RECOVERED
        locked.household = None
        if locked.area is not None:
            locked.area = _stock_area(locked.area)
        locked.save(update_fields=["status", "household", "area"])
        audit.record(
            "device.recover",
            actor=actor,
            target=locked,
            area=locked.area,
            details={"household": household_id, "note": note[:200]},
        )
    device.refresh_from_db()
    return device


def _set_status(actor: Any, device: Device, status: DeviceStatus, action: str, note: str) -> Device:
    require(actor, MANAGE)
    if device.area is not None:
        require_area(actor, device.area.path)
    if device.status == DeviceStatus.INSTALLED:
        raise _bad(_("Recover the device from its household first."))
    if device.status in _CLOSED:
        raise _bad(_("This device is already retired or lost."))
    with transaction.atomic():
        device.status = status
        device.save(update_fields=["status"])
        audit.record(
            action, actor=actor, target=device, area=device.area, details={"note": note[:200]}
        )
    return device


def restock_device(actor: Any, device: Device, note: str = "") -> Device:
    """A recovered device, checked and cleaned, is ready to be installed again."""
    if device.status != DeviceStatus.RECOVERED:
        raise _bad(_("Only recovered devices go back to stock."))
    return _set_status(actor, device, DeviceStatus.IN_STOCK, "device.restock", note)


def retire_device(actor: Any, device: Device, note: str = "") -> Device:
    return _set_status(actor, device, DeviceStatus.RETIRED, "device.retire", note)


def mark_lost(actor: Any, device: Device, note: str = "") -> Device:
    if device.status == DeviceStatus.INSTALLED:
        # A device can go missing from a door: close its installation too.
        recover_device(actor, device, note or "lost")
        device.refresh_from_db()
    return _set_status(actor, device, DeviceStatus.LOST, "device.lost", note)


def can_manage(actor: Any, device: Device) -> bool:
    if not actor.has_perm(MANAGE):
        return False
    if device.area is None:
        return bool(getattr(actor, "sees_everything", False))
    return user_covers_area(actor, device.area.path)
