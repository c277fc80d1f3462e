"""Gate devices (turnstiles, kiosks, gate phones): one API key each, shown once, kept hashed.

The same approach as the ingest keys (devices/services/keys.py); the verify hot path asks for
the device on every request, so a found device is cached in the process for a few seconds.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area, AreaKind
from shouwang.core.permissions import require, require_area
from shouwang.devices.services.keys import hash_key
from shouwang.passes.models import GateDevice

MANAGE = "passes.add_gatedevice"
KEY_PREFIX = "swg_"
# A deactivated device is refused by every process within this time.
CACHE_SECONDS = 10.0
_TOUCH_EVERY = timedelta(minutes=1)

_cache: dict[str, tuple[float, GateDevice | None]] = {}


def forget_cache() -> None:
    _cache.clear()


def create_gate_device(actor: Any, name: str, compound: Area) -> tuple[GateDevice, str]:
    """A new device key; the plaintext is returned once and never stored."""
    require(actor, MANAGE)
    require_area(actor, compound.path)
    if compound.kind != AreaKind.COMPOUND:
        raise ValidationError({"compound": [_("A gate belongs to a compound.")]})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Name the gate, e.g. 东门闸机.")]})
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        device = GateDevice.objects.create(
            name=name[:100], compound=compound, key_hash=hash_key(plaintext), prefix=plaintext[:8]
        )
        audit.record(
            "gate_device.create",
            actor=actor,
            target=device,
            area=compound,
            details={"name": name},
        )
    return device, plaintext


def deactivate(actor: Any, device: GateDevice) -> None:
    require(actor, MANAGE)
    with transaction.atomic():
        GateDevice.objects.filter(pk=device.pk).update(active=False)
        audit.record("gate_device.deactivate", actor=actor, target=device, area=device.compound)
    forget_cache()


def authenticate(plaintext: str | None) -> GateDevice | None:
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 100:
        return None
    digest = hash_key(plaintext)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    device = (
        GateDevice.objects.filter(key_hash=digest, active=True).select_related("compound").first()
    )
    if device is not None:
        moment = timezone.now()
        # Record use, but not as a write on every scan.
        if device.last_used_at is None or moment - device.last_used_at > _TOUCH_EVERY:
            GateDevice.objects.filter(pk=device.pk).update(last_used_at=moment)
            device.last_used_at = moment
    if len(_cache) > 1000:
        _cache.clear()
    _cache[digest] = (now, device)
    return device


def synced(device: GateDevice) -> None:
    GateDevice.objects.filter(pk=device.pk).update(last_synced_at=timezone.now())
