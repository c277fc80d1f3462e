"""Per-IP and per-ID rate limits on reservation attempts, so one script or one person cannot
crowd the others out of a burst. Fixed windows counted in Django's cache (in-process memory in
the embedded shape; a shared cache backend counts across processes). Checked before any
database work, so a refused attempt costs nothing.

`settings.MASKS_RATE_LIMITS` (a `Limits`) overrides the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


@dataclass(frozen=True)
class Limits:
    per_ip: int = 60  # attempts per window from one address (a shared Wi-Fi, a family)
    per_id: int = 6  # attempts per window with one ID number
    window: int = 60  # seconds


def current() -> Limits:
    configured = getattr(settings, "MASKS_RATE_LIMITS", None)
    return configured if isinstance(configured, Limits) else Limits()


def _hit(kind: str, who: str, limit: int, window: int) -> bool:
    """Counts one attempt; False when this one is over the limit."""
    if limit <= 0:
        return True
    slot = int(timezone.now().timestamp()) // window
    key = f"masks:rate:{kind}:{who}:{slot}"
    cache.add(key, 0, timeout=window * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window * 2)
        count = 1
    return count <= limit


def allow_ip(ip: str | None) -> bool:
    limits = current()
    return _hit("ip", ip or "unknown", limits.per_ip, limits.window)


def allow_id(index: str) -> bool:
    """`index` is the ID number's blind index: no ID number is kept in the cache."""
    limits = current()
    return _hit("id", index, limits.per_id, limits.window)
