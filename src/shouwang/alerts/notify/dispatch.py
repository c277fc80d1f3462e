"""Planning deliveries for an alert change: which channels hear of it."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from shouwang.alerts.models import Alert, Delivery, Subscription
from shouwang.core.scoping import user_covers_area

# Occurrences of an open alert add to it on the console; channels hear of the opening, each
# escalation and each reminder, not of every repeat.
NOTIFY_ON = {"opened", "escalated", "reminded"}


def _covering_paths(path: str) -> list[str]:
    return [path[:end] for end in range(4, len(path) + 1, 4)]


def plan(alert: Alert, reason: str) -> list[Delivery]:
    if reason not in NOTIFY_ON or alert.area is None:
        return []
    path = alert.area.path
    candidates = (
        Subscription.objects.filter(
            channel__active=True,
            min_severity__lte=alert.severity,
            escalation_level=alert.escalation_level,
        )
        .filter(Q(area__path__in=_covering_paths(path)) | Q(user__isnull=False, area__isnull=True))
        .select_related("user")
    )
    now = timezone.now()
    deliveries: dict[int, Delivery] = {}
    for subscription in candidates:
        if subscription.kinds and alert.kind not in subscription.kinds:
            continue
        if subscription.user is not None and not (
            subscription.user.is_active and user_covers_area(subscription.user, path)
        ):
            continue
        deliveries.setdefault(
            subscription.channel_id,
            Delivery(
                channel_id=subscription.channel_id,
                alert=alert,
                reason=reason,
                created_at=now,
                next_attempt_at=now,
            ),
        )
    return Delivery.objects.bulk_create(list(deliveries.values()))


def wake() -> None:
    """Start delivering what was just planned (set up by the sender when it runs)."""
    from shouwang.alerts.notify import sender

    sender.wake()
