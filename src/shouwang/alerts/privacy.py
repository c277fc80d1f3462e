"""Unusual access to personal data: an account that reveals or exports far more than usual.

The 2020 leaks of returnee lists went out through ordinary accounts doing ordinary things,
only many more of them. The audit trail already records every reveal and export; this check
reads it and tells the platform admins when one account's volume leaves its own habit and a
fixed floor behind. The alert has no area: only staff who see the whole platform see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules
from shouwang.alerts.alert_kinds import UNUSUAL_ACCESS
from shouwang.alerts.models import Alert, Severity
from shouwang.alerts.services.alerting import Trigger, raise_alerts
from shouwang.core.models import AuditLog

# Every audited action that shows a full personal value or writes personal data to a file
# ends in one of these (person.reveal, roster.export, case.export …).
_REVEAL = Q(action__endswith=".reveal")
_EXPORT = Q(action__endswith=".export")


def _counts(kind: Q, since: datetime, until: datetime) -> dict[int, int]:
    rows = (
        AuditLog.objects.filter(kind, actor__isnull=False, at__gte=since, at__lt=until)
        .values("actor")
        .annotate(n=Count("id"))
    )
    return {row["actor"]: row["n"] for row in rows}


def _unusual(
    kind: Q, window: timedelta, floor: int, factor: float, baseline: timedelta, now: datetime
) -> dict[int, tuple[int, float]]:
    """Accounts whose count in the last `window` exceeds both the floor and `factor` times
    their own average per window over the `baseline` before it: {actor: (count, usual)}."""
    recent = _counts(kind, now - window, now)
    flagged = {actor: n for actor, n in recent.items() if n > floor}
    if not flagged:
        return {}
    before = _counts(kind, now - window - baseline, now - window)
    windows = baseline / window
    result: dict[int, tuple[int, float]] = {}
    for actor, n in flagged.items():
        usual = before.get(actor, 0) / windows
        if n > factor * usual:
            result[actor] = (n, usual)
    return result


def check_unusual_access(now: datetime | None = None) -> list[Alert]:
    """Raise (or add an occurrence to) one alert per account that stands out. Idempotent: a
    second run in the same state adds occurrences to the same open alert, nothing more."""
    now = now or timezone.now()
    params = rules.RuleBook([UNUSUAL_ACCESS]).resolve(UNUSUAL_ACCESS, "")
    if not params.enabled:
        return []
    p = params.params
    factor = float(p["factor"])
    baseline = timedelta(days=float(p["baseline_days"]))
    reveals = _unusual(
        _REVEAL, timedelta(hours=1), int(p["reveals_per_hour"]), factor, baseline, now
    )
    exports = _unusual(_EXPORT, timedelta(days=1), int(p["exports_per_day"]), factor, baseline, now)
    labels = dict(
        AuditLog.objects.filter(actor_id__in={*reveals, *exports})
        .order_by("actor_id", "-at")
        .distinct()
        .values_list("actor_id", "actor_label")
    )
    triggers: list[Trigger] = []
    for actor, (n, usual) in reveals.items():
        title = _("%(user)s revealed %(n)d personal values in the last hour (usually %(usual).1f)")
        triggers.append(
            _trigger(
                actor,
                now,
                title % {"user": labels.get(actor, actor), "n": n, "usual": usual},
                params.severity,
                {"reveals": n, "usual": round(usual, 2)},
            )
        )
    for actor, (n, usual) in exports.items():
        if actor in reveals:
            continue  # one alert per account; the reveal figure is already on it
        title = _("%(user)s exported personal data %(n)d times today (usually %(usual).1f)")
        triggers.append(
            _trigger(
                actor,
                now,
                title % {"user": labels.get(actor, actor), "n": n, "usual": usual},
                params.severity,
                {"exports": n, "usual": round(usual, 2)},
            )
        )
    if not triggers:
        return []
    with transaction.atomic():
        return raise_alerts(triggers)


def _trigger(
    actor: int, now: datetime, title: str, severity: Severity, data: dict[str, float]
) -> Trigger:
    return Trigger(
        kind=UNUSUAL_ACCESS,
        subject=f"user:{actor}",
        at=now,
        title=title,
        area=None,
        severity=severity,
        data=data,
    )
