"""Messages that could not be taken in are kept, counted and shown, never silently dropped."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from shouwang.devices.models import DeadLetter


def record_dead_letter(
    adapter: str,
    transport: str,
    reason: str,
    payload: bytes | str,
    topic: str = "",
    source: str = "",
) -> DeadLetter:
    text = payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")
    return DeadLetter.objects.create(
        received_at=timezone.now(),
        adapter=adapter[:20],
        transport=transport,
        topic=topic[:300],
        reason=reason[:500],
        payload=text[: settings.DEAD_LETTER_MAX_BYTES],
        source=source[:100],
    )
