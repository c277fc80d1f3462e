"""Questions other apps ask about quarantine (the passes app asks who may not leave home).

Until cases exist this reads the alerts app's quarantine watches; the quarantine cases replace
it with the cases themselves, keeping the signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from shouwang.alerts.models import Watch, WatchKind


def quarantined_person_ids(person_ids: Iterable[int], at: datetime | None = None) -> set[int]:
    """Those of `person_ids` who are under an active home quarantine at `at` (default: now)."""
    from shouwang.core.models import Person

    at = at or timezone.now()
    ids = list(person_ids)
    active = Watch.objects.filter(
        kind=WatchKind.QUARANTINE, paused=False, starts_at__lte=at
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
    named = set(active.filter(person_id__in=ids).values_list("person_id", flat=True))
    whole_households = active.filter(person__isnull=True).values("household_id")
    rest = set(
        Person.objects.filter(pk__in=ids, household_id__in=whole_households).values_list(
            "pk", flat=True
        )
    )
    return {pk for pk in named | rest if pk is not None}
