"""Reporting rates: per organisation and day, and their totals per area. Counts only, never
names: who has not reported is an organisation, not a person, at this level.

Two queries for any number of organisations (members per organisation, members who declared
that day per organisation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.utils import timezone

from shouwang.reporting.models import Declaration, Member, Organisation


@dataclass
class Row:
    org: Organisation
    members: int
    reported: int

    @property
    def missing(self) -> int:
        return max(self.members - self.reported, 0)

    @property
    def rate(self) -> float:
        return self.reported / self.members if self.members else 1.0

    @property
    def rate_text(self) -> str:
        return f"{self.rate * 100:.0f}%" if self.members else "—"


@dataclass
class Total:
    organisations: int
    members: int
    reported: int
    late_organisations: int

    @property
    def rate_text(self) -> str:
        return f"{self.reported / self.members * 100:.0f}%" if self.members else "—"


def for_day(orgs: Iterable[Organisation], day: date) -> list[Row]:
    orgs = list(orgs)
    ids = [o.pk for o in orgs]
    sizes = dict(
        Member.objects.filter(organisation_id__in=ids, active=True)
        .values("organisation_id")
        .annotate(n=Count("pk"))
        .values_list("organisation_id", "n")
    )
    reported = dict(
        Declaration.objects.filter(organisation_id__in=ids, day=day, member__active=True)
        .values("organisation_id")
        .annotate(n=Count("member_id", distinct=True))
        .values_list("organisation_id", "n")
    )
    rows = [Row(o, sizes.get(o.pk, 0), reported.get(o.pk, 0)) for o in orgs]
    # The least reported first: that is where the district looks.
    rows.sort(key=lambda r: (r.rate, -r.missing, r.org.name))
    return rows


def total(rows: Iterable[Row]) -> Total:
    rows = list(rows)
    return Total(
        organisations=len(rows),
        members=sum(r.members for r in rows),
        reported=sum(r.reported for r in rows),
        late_organisations=sum(1 for r in rows if r.missing),
    )


def summary(orgs: QuerySet[Organisation], day: date) -> Total:
    return total(for_day(orgs, day))


def today(orgs: Iterable[Organisation]) -> list[Row]:
    return for_day(orgs, timezone.localdate())
