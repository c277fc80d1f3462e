"""Messages that could not be taken in are kept, counted and shown, never silently dropped.

Kept safely whatever they contain: the bytes as received (bytea on PostgreSQL, a BLOB on
SQLite), beside a readable text with invalid UTF-8 and NUL replaced (PostgreSQL's text type
cannot hold NUL). Kept once: a redelivery or a retry of the same message finds its row.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from shouwang.core.models import Area
from shouwang.devices.models import DeadLetter


def readable(body: bytes) -> str:
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def as_bytes(payload: bytes | str) -> bytes:
    # A str may hold lone surrogates (JSON's "\\ud800" decodes to one): keep them as bytes.
    return payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")


def record_dead_letter(
    adapter: str,
    transport: str,
    reason: str,
    payload: bytes | str,
    topic: str = "",
    source: str = "",
    area: Area | None = None,
    redelivered: bool = False,
) -> DeadLetter:
    """Keep a message that could not be taken in. The same message again (same origin, same
    bytes) is counted on its first row; an MQTT redelivery (`redelivered`) is not counted."""
    body = as_bytes(payload)[: settings.DEAD_LETTER_MAX_BYTES]
    adapter, topic, source = adapter[:20], readable(as_bytes(topic))[:300], source[:100]
    fingerprint = hashlib.sha256(
        b"\x1f".join(
            [
                adapter.encode(),
                transport.encode(),
                topic.encode(),
                source.encode(),
                str(area.pk if area else "").encode(),
                body,
            ]
        )
    ).hexdigest()
    now = timezone.now()
    letter, created = DeadLetter.objects.get_or_create(
        fingerprint=fingerprint,
        defaults={
            "received_at": now,
            "adapter": adapter,
            "transport": transport,
            "topic": topic,
            "reason": readable(as_bytes(reason))[:500],
            "payload": readable(body),
            "body": body,
            "source": source,
            "area": area,
        },
    )
    if not created and not redelivered:
        DeadLetter.objects.filter(pk=letter.pk).update(repeats=F("repeats") + 1)
    return letter
