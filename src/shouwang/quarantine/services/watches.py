"""Putting a household under watch (home quarantine, care watch) and ending it.

Cases (`services.cases`) and care enrolments (`services.care`) call these; the rules in
`alert_kinds` only read the watches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Household, Person
from shouwang.core.permissions import require, require_area
from shouwang.quarantine.models import Watch, WatchKind

MANAGE = "alerts.change_alert"


def start_watch(
    actor: Any,
    kind: str,
    household: Household,
    person: Person | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    params: dict[str, Any] | None = None,
) -> Watch:
    require(actor, MANAGE)
    require_area(actor, household.area.path)
    if kind not in WatchKind.values:
        raise ValidationError(_("Unknown kind of watch."))
    if person is not None and person.household_id != household.pk:
        raise ValidationError(_("The person does not live in this household."))
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError(_("A watch must end after it starts."))
    with transaction.atomic():
        watch = Watch.objects.create(
            kind=kind,
            household=household,
            person=person,
            starts_at=starts_at,
            ends_at=ends_at,
            params=params or {},
        )
        audit.record(
            "watch.start",
            actor=actor,
            target=watch,
            area=household.area,
            details={"kind": kind, "ends_at": ends_at.isoformat() if ends_at else None},
        )
    return watch


def end_watch(actor: Any, watch: Watch, at: datetime | None = None) -> Watch:
    require(actor, MANAGE)
    require_area(actor, watch.household.area.path)
    at = at or timezone.now()
    with transaction.atomic():
        watch.ends_at = at
        watch.save(update_fields=["ends_at"])
        audit.record("watch.end", actor=actor, target=watch, area=watch.household.area)
    return watch


def set_watch_paused(actor: Any, watch: Watch, paused: bool, reason: str = "") -> Watch:
    """Pause a watch (a hospital stay, travel) or resume it; its rules skip it while paused."""
    require(actor, MANAGE)
    require_area(actor, watch.household.area.path)
    with transaction.atomic():
        watch.paused = paused
        watch.save(update_fields=["paused"])
        audit.record(
            "watch.pause" if paused else "watch.resume",
            actor=actor,
            target=watch,
            area=watch.household.area,
            details={"reason": reason[:200]},
        )
    return watch
