"""Organisation keys for the batch API: 256 random bits, shown once, stored as SHA-256;
rate-limited per key by a conditional UPDATE on a per-minute window (race-free across
processes: two requests cannot both take the last slot)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shouwang.core import audit
from shouwang.core.permissions import require
from shouwang.core.scoping import get_visible
from shouwang.reporting.models import Organisation, OrgKey
from shouwang.reporting.perms import MANAGE_ORGS


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_key(
    actor: Any, org: Organisation, name: str, per_minute: int = 60
) -> tuple[OrgKey, str]:
    require(actor, MANAGE_ORGS)
    org = get_visible(actor, Organisation.objects.select_related("area"), org.pk)
    plaintext = "swo_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = OrgKey.objects.create(
            organisation=org,
            name=name[:100],
            key_hash=hash_key(plaintext),
            prefix=plaintext[:8],
            per_minute=max(1, per_minute),
        )
        audit.record(
            "reporting.key_create", actor=actor, target=org, area=org.area, details={"key": key.pk}
        )
    return key, plaintext


def authenticate(token: str | None) -> OrgKey | None:
    if not token or len(token) > 100:
        return None
    return (
        OrgKey.objects.select_related("organisation__area")
        .filter(key_hash=hash_key(token), active=True)
        .first()
    )


def take_slot(key: OrgKey) -> bool:
    """One batch's place in the key's current minute, or False when the minute is full."""
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    taken = OrgKey.objects.filter(
        pk=key.pk, window_start=minute, window_count__lt=key.per_minute
    ).update(window_count=F("window_count") + 1, last_used_at=now)
    if taken:
        return True
    # A new minute: the first request of it resets the window (only one can).
    return bool(
        OrgKey.objects.filter(pk=key.pk)
        .exclude(window_start=minute)
        .update(window_start=minute, window_count=1, last_used_at=now)
    )
