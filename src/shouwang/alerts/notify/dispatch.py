"""Planning deliveries for an alert change: which channels, and which other recipients
(`notify.recipients`: a person's family), hear of it. Runs inside the alert's transaction, so
a crash after the commit loses none of them."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from shouwang.alerts.models import Alert, Channel, Delivery, Subscription
from shouwang.alerts.notify import recipients
from shouwang.core.scoping import user_covers_area

# Occurrences of an open alert add to it on the console; channels hear of the opening, each
# escalation and each reminder, not of every repeat.
NOTIFY_ON = {"opened", "escalated", "reminded"}
NO_CHANNEL = "该区域没有短信渠道"


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
    planned = list(deliveries.values()) + _for_recipients(alert, reason, path)
    return Delivery.objects.bulk_create(planned) if planned else []


def _for_recipients(alert: Alert, reason: str, path: str) -> list[Delivery]:
    """One delivery per recipient a registered source names, through the channel of its kind
    subscribed nearest above the alert's area; failed at once, for a person to see, when the
    area has no such channel."""
    planned: list[Delivery] = []
    for source in recipients.sources():
        refs = source.recipients(alert, reason)
        if not refs:
            continue
        channel = _nearest_channel(source.channel_kind, path)
        now = timezone.now()
        planned += [
            Delivery(
                channel_id=channel.pk if channel else None,
                alert=alert,
                reason=reason,
                recipient_kind=source.kind,
                recipient_ref=ref,
                created_at=now,
                next_attempt_at=now,
                **({} if channel else {"status": Delivery.Status.FAILED, "last_error": NO_CHANNEL}),
            )
            for ref in refs
        ]
    return planned


def _nearest_channel(kind: str, path: str) -> Channel | None:
    subscription = (
        Subscription.objects.filter(
            channel__active=True, channel__kind=kind, area__path__in=_covering_paths(path)
        )
        .select_related("channel")
        .order_by("-area__depth")
        .first()
    )
    return subscription.channel if subscription else None


def wake() -> None:
    """Start delivering what was just planned (set up by the sender when it runs)."""
    from shouwang.alerts.notify import sender

    sender.wake()
