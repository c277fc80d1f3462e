"""Ingest keys: one per gateway or integration, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.permissions import require
from shouwang.devices.adapters import ADAPTERS
from shouwang.devices.models import IngestKey

_TOUCH_EVERY = timedelta(minutes=1)


def hash_key(plaintext: str) -> str:
    # The key is 256 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_ingest_key(
    actor: Any,
    name: str,
    adapter: str,
    area: Area | None = None,
    config: dict[str, str] | None = None,
) -> tuple[IngestKey, str]:
    """A new key; the plaintext is returned once and never stored."""
    require(actor, "devices.add_ingestkey")
    if adapter not in ADAPTERS:
        raise ValidationError({"adapter": [_("Unknown adapter.")]})
    plaintext = "sw_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = IngestKey.objects.create(
            name=name,
            adapter=adapter,
            area=area,
            config=config or {},
            key_hash=hash_key(plaintext),
            prefix=plaintext[:8],
        )
        audit.record(
            "ingest_key.create", actor=actor, target=key, details={"name": name, "adapter": adapter}
        )
    return key, plaintext


def authenticate(plaintext: str | None) -> IngestKey | None:
    if not plaintext:
        return None
    key = IngestKey.objects.filter(key_hash=hash_key(plaintext), active=True).first()
    if key is not None:
        now = timezone.now()
        # Record use, but not as a write on every push.
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
            IngestKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
