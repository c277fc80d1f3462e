"""Questions other apps ask about quarantine (the passes app asks who may not leave home)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from shouwang.quarantine.models import CaseMember


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
