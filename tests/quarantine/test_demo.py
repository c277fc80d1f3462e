"""The demo town starts with active cases and care-watch enrolments, seeded once."""

from __future__ import annotations

from typing import Any

from shouwang.alerts.models import Alert
from shouwang.core.demo import seed_demo_town
from shouwang.quarantine.demo import ACTIVE_CASES, seed_demo
from shouwang.quarantine.models import (
    CareEnrolment,
    Case,
    CaseStatus,
    HealthCheck,
    Watch,
    WatchKind,
)


def test_demo_has_live_cases_and_care_watches_and_seeds_once(
    db: Any, settings: Any, tmp_path: Any
) -> None:
    settings.VAR_DIR = tmp_path
    seed_demo_town()
    seed_demo()
    active = Case.objects.filter(status=CaseStatus.ACTIVE)
    assert active.count() == ACTIVE_CASES
    assert all(c.device_id for c in active)
    assert Case.objects.filter(status=CaseStatus.COMPLETED, recovery_due__isnull=False).count() == 1
    assert CareEnrolment.objects.filter(ended_at__isnull=True).count() >= 3
    assert CareEnrolment.objects.filter(paused=True).count() == 1
    assert HealthCheck.objects.exists()
    assert Alert.objects.filter(kind="fever").count() == 1
    # One quarantine watch per household, never two.
    households = list(
        Watch.objects.filter(kind=WatchKind.QUARANTINE, ends_at__isnull=True).values_list(
            "household_id", flat=True
        )
    )
    assert len(households) == len(set(households))
    counts = (Case.objects.count(), CareEnrolment.objects.count(), HealthCheck.objects.count())
    seed_demo()
    assert (
        Case.objects.count(),
        CareEnrolment.objects.count(),
        HealthCheck.objects.count(),
    ) == counts
