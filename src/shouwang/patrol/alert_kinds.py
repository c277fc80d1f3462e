"""The patrol's alert kinds and its one timer rule; found by the alerts engine's
`autodiscover_modules("alert_kinds")`.

- `patrol_rectification`: a finding of the video patrol, sent to the responsible community as
  an alert, so the notification engine delivers it (channels, retries, digests, escalation of
  an unacknowledged alert) like every other; closed when the operator closes the order.
- `patrol_rectification_overdue` (timer rule `patrol_overdue`, every minute): an order still
  not answered at its deadline; raised once per order.
- `patrol_settings` (settings only, inherited down the area tree): the deadline for an order
  and the score card's rules (docs/architecture.md, "Video patrol").
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.alerts.models import Alert
from shouwang.alerts.registry import register_timer_rule
from shouwang.alerts.services.alerting import Trigger, raise_alerts
from shouwang.core.kinds import AlertKind, Severity, declare
from shouwang.patrol.models import FindingCategory, OrderStatus, RectificationOrder

RECTIFICATION = "patrol_rectification"
RECTIFICATION_OVERDUE = "patrol_rectification_overdue"
PATROL_SETTINGS = "patrol_settings"

declare(
    AlertKind(RECTIFICATION, _("Rectification ordered by the video patrol"), Severity.WARNING),
    AlertKind(RECTIFICATION_OVERDUE, _("Rectification overdue"), Severity.CRITICAL),
    AlertKind(
        PATROL_SETTINGS,
        _("Video patrol settings"),
        Severity.INFO,
        {
            "deadline_hours": 24,
            # Score card: start at 100; per finding, by category, times the severity (1-3).
            "score_start": 100,
            "deduct_crowding": 3,
            "deduct_unmanned": 5,
            "deduct_not_checking": 4,
            "deduct_no_mask": 2,
            "deduct_other": 1,
            "deduct_late": 5,
            "deduct_returned": 3,
        },
        settings_only=True,
    ),
)


def check_overdue(now: datetime | None = None) -> list[Alert]:
    """Orders still open at their deadline: one overdue alert each, to the same community,
    raised once (`overdue_alerted_at`, set by a conditional UPDATE)."""
    now = now or timezone.now()
    due = list(
        RectificationOrder.objects.filter(
            status=OrderStatus.OPEN, deadline__lte=now, overdue_alerted_at__isnull=True
        ).select_related("community", "finding__checkpoint__area")
    )
    triggers = []
    with transaction.atomic():
        for order in due:
            claimed = RectificationOrder.objects.filter(
                pk=order.pk, overdue_alerted_at__isnull=True
            ).update(overdue_alerted_at=now)
            if not claimed:
                continue
            triggers.append(
                Trigger(
                    kind=RECTIFICATION_OVERDUE,
                    subject=f"rectification:{order.pk}",
                    at=now,
                    title=order_title(order),
                    area=order.community,
                    severity=Severity.CRITICAL,
                    data={"order": order.pk, "deadline": order.deadline.isoformat()},
                )
            )
        return raise_alerts(triggers)


def order_title(order: RectificationOrder) -> str:
    finding = order.finding
    checkpoint = finding.checkpoint
    return f"{checkpoint.area.name} {checkpoint.name} · {FindingCategory(finding.category).label}"


register_timer_rule("patrol_overdue", check_overdue)
