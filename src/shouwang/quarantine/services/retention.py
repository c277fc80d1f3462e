"""Retention: the personal data of a case closed longer ago than the area's retention period
(RuleSetting "quarantine_case", retention_days, default 30) is anonymised; the numbers that
statistics count (the case, its area, dates, status, people count, how many checks were in)
survive. Each purged case writes one audit entry. Idempotent: a purged case is skipped."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shouwang.alerts import rules as alert_rules
from shouwang.core import audit
from shouwang.quarantine import alert_kinds as kinds
from shouwang.quarantine.models import Case, CaseEndChange, CaseStatus, HealthCheck, ServiceRecord


def purge_expired(now: datetime | None = None) -> int:
    now = now or timezone.now()
    book = alert_rules.RuleBook([kinds.QUARANTINE_CASE])
    candidates = (
        Case.objects.exclude(status=CaseStatus.ACTIVE)
        .filter(anonymised_at__isnull=True, ended_at__isnull=False)
        .select_related("area")
        .order_by("ended_at")
    )
    purged = 0
    for case in candidates:
        days = int(book.resolve(kinds.QUARANTINE_CASE, case.area.path).params["retention_days"])
        if case.ended_at is None or case.ended_at > now - timedelta(days=days):
            continue
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            if locked.anonymised_at is not None:
                continue
            people = locked.members.count()
            checks = HealthCheck.objects.filter(case=locked).update(
                person=None, temperature=None, symptoms=[], entered_by=None
            )
            locked.members.all().delete()
            locked.links.all().delete()
            ServiceRecord.objects.filter(case=locked).update(note="", created_by=None)
            CaseEndChange.objects.filter(case=locked).update(reason="", changed_by=None)
            locked.household = None
            locked.reason = locked.end_reason = locked.no_device_reason = ""
            locked.anonymised_at = now
            locked.save()
            audit.record(
                "quarantine.purge",
                target=locked,
                area=locked.area,
                details={"people": people, "checks": checks, "retention_days": days},
            )
        purged += 1
    return purged
