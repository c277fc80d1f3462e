"""Expected door openings: a worker registers that a quarantined household's door will open
(garbage collection, a delivery, a test at the door), and door events inside that window are
recorded without raising an alert (see `evaluate`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shouwang.alerts import perms as alert_perms
from shouwang.alerts.models import SuppressionWindow
from shouwang.core import audit
from shouwang.core.models import Household
from shouwang.core.permissions import require, require_area

# Stored as the code (and the worker's words after a colon), shown translated.
REASONS = {
    "garbage": gettext_lazy("Garbage collection"),
    "delivery": gettext_lazy("Delivery or takeaway"),
    "test": gettext_lazy("Test at the door"),
    "other": gettext_lazy("Other"),
}
LONGEST = timedelta(hours=12)
FURTHEST_AHEAD = timedelta(days=7)
NOTE_LENGTH = 80


def describe(reason: str) -> str:
    """A stored reason for people: "garbage" → 收垃圾, "other:送药" → 其他：送药."""
    code, _sep, note = reason.partition(":")
    label = REASONS.get(code)
    if label is None:
        return reason
    if not note:
        return str(label)
    return _("%(reason)s: %(details)s") % {"reason": label, "details": note}


def add_window(
    actor: Any,
    household: Household,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    note: str = "",
) -> SuppressionWindow:
    """Register an expected door opening. Refuses a window in the past, longer than LONGEST,
    or further ahead than FURTHEST_AHEAD, and "other" without saying what."""
    require(actor, alert_perms.HANDLE_ALERTS)
    require_area(actor, household.area.path)
    note = " ".join((note or "").split())[:NOTE_LENGTH]
    errors: dict[str, list[str]] = {}
    if reason not in REASONS:
        errors["reason"] = [_("Choose why the door will open.")]
    elif reason == "other" and not note:
        errors["note"] = [_("Say why the door will open.")]
    now = timezone.now()
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    elif ends_at <= now:
        errors["ends_at"] = [_("This window is already over.")]
    elif ends_at - starts_at > LONGEST:
        errors["ends_at"] = [
            _("A window can last %(hours)d hours at most.")
            % {"hours": int(LONGEST.total_seconds() // 3600)}
        ]
    if starts_at > now + FURTHEST_AHEAD:
        errors["starts_at"] = [
            _("A window can start at most %(days)d days ahead.") % {"days": FURTHEST_AHEAD.days}
        ]
    if errors:
        raise ValidationError(errors)
    stored = f"{reason}:{note}" if note else reason
    with transaction.atomic():
        window = SuppressionWindow.objects.create(
            household=household,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=stored[:100],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            "alert.suppress",
            actor=actor,
            target=window,
            area=household.area,
            details={
                "household": household.pk,
                "reason": reason,
                "from": starts_at.isoformat(),
                "until": ends_at.isoformat(),
            },
        )
    return window


def upcoming(household: Household, now: datetime | None = None) -> list[SuppressionWindow]:
    """The household's windows that have not ended yet, soonest first."""
    now = now or timezone.now()
    return list(
        SuppressionWindow.objects.filter(household=household, ends_at__gt=now)
        .select_related("created_by")
        .order_by("starts_at")
    )
