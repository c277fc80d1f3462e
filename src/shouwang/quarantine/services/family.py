"""Family contacts hear of their relative's alert: one template SMS each, through the SMS
channel that serves the alert's area (the community's SMS account).

Not a sender of its own: "the family contacts of the alert's person" is a kind of recipient
of the alerts app's one delivery engine (`shouwang.alerts.notify.recipients`), registered in
`QuarantineConfig.ready()`. The dispatch plans a delivery per contact inside the alert's
transaction; the sender sends it with the same first attempt on commit, rate limit, retries
and translated errors as every other delivery. Only the opening of an alert is told:
escalations and reminders are for staff.
"""

from __future__ import annotations

from shouwang.alerts.models import Alert, ChannelKind, Delivery
from shouwang.quarantine import alert_kinds as kinds
from shouwang.quarantine.models import FamilyContact

# Alerts about a person that their family is told of.
TOLD = {kinds.CARE_INACTIVITY, kinds.FEVER}
KIND = "family"


class FamilyContacts:
    """The family contacts (who asked to be told) of the alert's person, under care watch."""

    kind: str = KIND
    channel_kind: str = ChannelKind.SMS

    def recipients(self, alert: Alert, reason: str) -> list[int]:
        if reason != "opened" or alert.kind not in TOLD or alert.person_id is None:
            return []
        return list(
            FamilyContact.objects.filter(
                enrolment__person_id=alert.person_id,
                enrolment__ended_at__isnull=True,
                notify=True,
            ).values_list("pk", flat=True)
        )

    def address(self, ref: int) -> str | None:
        contact = FamilyContact.objects.filter(pk=ref).first()
        return (contact.phone or None) if contact is not None else None

    def label(self, ref: int) -> str:
        contact = FamilyContact.objects.filter(pk=ref).first()
        return contact.masked_name if contact is not None else "—"


def notices(contact_ids: list[int], limit: int = 10) -> list[Delivery]:
    """What these contacts were told, newest first (for the care page)."""
    return list(
        Delivery.objects.filter(recipient_kind=KIND, recipient_ref__in=contact_ids).order_by(
            "-created_at", "-id"
        )[:limit]
    )
