"""Questions other apps ask about quarantine (the passes app asks who may not leave home)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from shouwang.quarantine.models import Case, CaseMember


def quarantined_person_ids(
    person_ids: Iterable[int] | QuerySet[Any, int], at: datetime | None = None
) -> set[int]:
    """Those of `person_ids` who are under an active home quarantine at `at` (default: now).

    A case is active from when it was started until it was ended (completed, transferred,
    ended early, lost), whatever its planned end says: until a worker ends it, the person is
    still at home. One query: given a queryset of ids (everyone holding a pass at a compound),
    it becomes a subquery rather than thousands of parameters.
    """
    at = at or timezone.now()
    ids = person_ids if isinstance(person_ids, QuerySet) else list(person_ids)
    if isinstance(ids, list) and not ids:
        return set()
    return set(
        CaseMember.objects.filter(person_id__in=ids, case__started_at__lte=at)
        .filter(Q(case__ended_at__isnull=True) | Q(case__ended_at__gt=at))
        .values_list("person_id", flat=True)
    )


def household_quarantined(household_id: int, at: datetime | None = None) -> bool:
    """Whether the household has an active home-quarantine case at `at` (default: now): a
    visitor may not go in without a worker's approval."""
    at = at or timezone.now()
    return (
        Case.objects.filter(household_id=household_id, started_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .exists()
    )


def quarantined_household_ids(household_ids: Iterable[int], at: datetime | None = None) -> set[int]:
    """Those of `household_ids` with an active home-quarantine case at `at`. One query."""
    at = at or timezone.now()
    ids = list(household_ids)
    if not ids:
        return set()
    return set(
        Case.objects.filter(household_id__in=ids, started_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .values_list("household_id", flat=True)
    )
