"""Planning deliveries for an alert change: which channels, and which other recipients
(`notify.recipients`: a person's family), hear of it. Runs inside the alert's transaction, so
a crash after the commit loses none of them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from shouwang.alerts.models import (
    Alert,
    Channel,
    ChannelKind,
    Delivery,
    Subscription,
    kinds_visible_to,
)
from shouwang.alerts.notify import channels, conf, fast, messages, recipients, trace
from shouwang.core.scoping import Viewer, area_paths, user_covers_area

# Occurrences of an open alert add to it on the console; channels hear of the opening, each
# escalation and each reminder, not of every repeat.
NOTIFY_ON = {"opened", "escalated", "reminded"}
NO_CHANNEL = "该区域没有短信渠道"


def _covering_paths(path: str) -> list[str]:
    return [path[:end] for end in range(4, len(path) + 1, 4)]


def channel_reaches(user: Viewer) -> bool:
    """Whether an active channel hears of some alerts in the user's areas: one subscribed for
    an area above, at or below one of theirs, or for the user themself. When none does, alerts
    reach this user on the console only, and the console says so."""
    subscriptions = Subscription.objects.filter(channel__active=True)
    paths = area_paths(user)
    if paths is None:
        return subscriptions.exists()
    near = Q(user_id=getattr(user, "pk", None))
    for path in paths:
        near |= Q(area__path__in=_covering_paths(path)) | Q(area__path__startswith=path)
    return subscriptions.filter(near).exists()


def plan(alert: Alert, reason: str) -> Planned:
    if reason not in NOTIFY_ON or alert.area is None:
        return Planned()
    path = alert.area.path
    candidates = (
        Subscription.objects.filter(
            channel__active=True,
            min_severity__lte=alert.severity,
            escalation_level=alert.escalation_level,
        )
        .filter(Q(area__path__in=_covering_paths(path)) | Q(user__isnull=False, area__isnull=True))
        .select_related("user", "channel")
    )
    now = timezone.now()
    deliveries: dict[int, Delivery] = {}
    by_id: dict[int, Channel] = {}
    for subscription in candidates:
        if subscription.kinds and alert.kind not in subscription.kinds:
            continue
        if subscription.user is not None and not (
            subscription.user.is_active and user_covers_area(subscription.user, path)
        ):
            continue
        # A staff member hears only of the kinds they may see (the property office: doors).
        seen = kinds_visible_to(subscription.user) if subscription.user is not None else None
        if seen is not None and alert.kind not in seen:
            continue
        by_id[subscription.channel_id] = subscription.channel
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
    planned = list(deliveries.values()) + _for_recipients(alert, reason, path, by_id)
    if not planned:
        return Planned()
    at_once = fast.decide(planned, by_id)
    for delivery in at_once:
        fast.claim_first(delivery, now)
    Delivery.objects.bulk_create(planned)
    jobs = _jobs(alert, reason, at_once, by_id) if at_once else []
    return Planned(planned, jobs)


@dataclass
class Planned:
    """What an alert change was planned to tell: every delivery, and the first attempts to
    make right after the commit (`notify.fast`)."""

    deliveries: list[Delivery] = field(default_factory=list)
    first: list[fast.Job] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        """Whether the general sender has work: a pending delivery not sent first-hand."""
        taken = {id(job.delivery) for job in self.first}
        return any(
            d.status == Delivery.Status.PENDING and id(d) not in taken for d in self.deliveries
        )


def _jobs(
    alert: Alert, reason: str, deliveries: list[Delivery], by_id: dict[int, Channel]
) -> list[fast.Job]:
    """The first attempts' messages, built from the alert in hand (no query after commit)."""
    from shouwang.alerts.notify import sender

    facts = messages.facts_from(alert, reason, conf.base_url(), settings.LANGUAGE_CODE)
    message = messages.single(facts, ZoneInfo(settings.TIME_ZONE))
    planned_at = trace.now()
    marks = {
        # The event's time on this clock: for a sensor without a clock of its own (Zigbee2MQTT
        # without last_seen) the moment the bridge received it.
        "received": planned_at - (timezone.now() - alert.opened_at).total_seconds(),
    }
    opened = getattr(alert, "opened_mono", None)
    if opened is not None:
        marks["opened"] = opened
    jobs = []
    for delivery in deliveries:
        channel = by_id[delivery.channel_id or 0]
        job_trace = trace.Trace(alert.pk, marks)
        job_trace.delivery_id = delivery.pk
        job_trace.mark("planned", planned_at)
        if channel.kind == ChannelKind.WEBHOOK:
            with contextlib.suppress(ValueError):  # parsed once per target, not on the loop
                fast.webhook_target(channel.target or "")
        try:
            to = sender.addresses(delivery)
        except channels.SendError:
            to = ()  # a recipient gone already: the send fails and says so
        jobs.append(
            fast.Job(
                delivery=delivery,
                kind=channel.kind,
                target=channel.target or "",
                message=message,
                to=to,
                trace=job_trace,
            )
        )
    return jobs


def _for_recipients(
    alert: Alert, reason: str, path: str, by_id: dict[int, Channel]
) -> list[Delivery]:
    """One delivery per recipient a registered source names, through the channel of its kind
    subscribed nearest above the alert's area; failed at once, for a person to see, when the
    area has no such channel."""
    planned: list[Delivery] = []
    for source in recipients.sources():
        refs = source.recipients(alert, reason)
        if not refs:
            continue
        channel = _nearest_channel(source.channel_kind, path)
        if channel is not None:
            by_id[channel.pk] = channel
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
