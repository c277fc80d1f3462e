"""Family contacts hear of their relative's care-watch alert: one template SMS each, through
the SMS channel that serves the alert's area (the community's SMS account).

Planned inside the alert's transaction (`alerts.services.announce.AFTER_CHANGE`), sent after
the commit, retried with backoff until sent or failed for a person to see — the same promise
as the alerts app's deliveries. Only the opening of an alert is told: escalations and
reminders are for staff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shouwang.alerts import rules as alert_rules
from shouwang.alerts.models import Alert, Channel, ChannelKind, Subscription
from shouwang.alerts.notify import conf, messages, sms
from shouwang.quarantine import rules
from shouwang.quarantine.models import FamilyContact, FamilyNotice

# Alerts about a person that their family is told of.
TOLD = {alert_rules.CARE_INACTIVITY, rules.FEVER}
MAX_ATTEMPTS = 6


def plan(alert: Alert, reason: str) -> None:
    if reason != "opened" or alert.kind not in TOLD or alert.person_id is None:
        return
    contacts = list(
        FamilyContact.objects.filter(
            enrolment__person_id=alert.person_id,
            enrolment__ended_at__isnull=True,
            notify=True,
        ).values_list("pk", flat=True)
    )
    if not contacts:
        return
    now = timezone.now()
    FamilyNotice.objects.bulk_create(
        [
            FamilyNotice(alert=alert, contact_id=pk, created_at=now, next_attempt_at=now)
            for pk in contacts
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(_enqueue)


def _enqueue() -> None:
    from shouwang.quarantine.tasks import send_family_notices

    send_family_notices()


def _channel_for(alert: Alert) -> Channel | None:
    """The active SMS channel subscribed nearest above the alert's area."""
    if alert.area is None:
        return None
    path = alert.area.path
    covering = [path[:end] for end in range(4, len(path) + 1, 4)]
    subscription = (
        Subscription.objects.filter(
            channel__active=True, channel__kind=ChannelKind.SMS, area__path__in=covering
        )
        .select_related("channel", "area")
        .order_by("-area__depth")
        .first()
    )
    return subscription.channel if subscription else None


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2**attempts))


def send_due(now: datetime | None = None) -> int:
    """Send the waiting notices that are due; idempotent (each is claimed before sending)."""
    now = now or timezone.now()
    sent = 0
    due = list(
        FamilyNotice.objects.filter(status=FamilyNotice.Status.PENDING, next_attempt_at__lte=now)
        .values_list("pk", flat=True)
        .order_by("pk")[:100]
    )
    for pk in due:
        # Claim: push the next attempt ahead, so a second sender leaves it alone.
        claimed = FamilyNotice.objects.filter(
            pk=pk, status=FamilyNotice.Status.PENDING, next_attempt_at__lte=now
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(minutes=5))
        if not claimed:
            continue
        notice = FamilyNotice.objects.select_related(
            "alert__area", "alert__household", "alert__person", "contact"
        ).get(pk=pk)
        error, permanent = _send(notice)
        if error is None:
            FamilyNotice.objects.filter(pk=pk).update(
                status=FamilyNotice.Status.SENT, sent_at=timezone.now(), last_error=""
            )
            sent += 1
        elif permanent or notice.attempts >= MAX_ATTEMPTS:
            FamilyNotice.objects.filter(pk=pk).update(
                status=FamilyNotice.Status.FAILED, last_error=error[:300]
            )
        else:
            FamilyNotice.objects.filter(pk=pk).update(
                next_attempt_at=now + _backoff(notice.attempts), last_error=error[:300]
            )
    return sent


def _send(notice: FamilyNotice) -> tuple[str | None, bool]:
    """None when sent; else the reason and whether retrying is pointless."""
    contact = notice.contact
    if contact is None or not contact.phone:
        return "联系人已删除", True
    channel = _channel_for(notice.alert)
    if channel is None:
        return "该区域没有短信渠道", True
    try:
        settings_ = sms.parse_settings(channel.target or "")
    except ValueError as exc:
        return str(exc), True
    facts = messages.facts_from(notice.alert, "opened", conf.base_url(), settings.LANGUAGE_CODE)
    message = messages.single(facts, ZoneInfo(settings.TIME_ZONE))
    try:
        settings_.provider.send([contact.phone], settings_.template_code, message.params)
    except sms.SmsError as exc:
        return str(exc), exc.permanent
    return None, False
