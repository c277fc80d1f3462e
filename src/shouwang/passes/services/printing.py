"""Passes on paper, for residents without a smartphone, and the list of personal links that a
bulk issue hands out.

A printed card carries the pass's fixed code, the holder's masked name, the address and the
end of validity: one A6 card a page, printed for one pass or for a whole building. A pass
whose holder chose the changing code is not printed (the gate refuses its fixed code as a
screenshot or an old print). Printing is audited like an export: a card opens the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.models import Area, AreaKind
from shouwang.core.permissions import require
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.core.services.exports import PersonalExport
from shouwang.passes.models import Pass, PassKind, PassStatus

VIEW = "passes.view_pass"
# One print run covers a building or a compound; more than this is a print shop's job.
MAX_CARDS = 2000


@dataclass(frozen=True)
class Card:
    pass_obj: Pass
    address: str


def printable(actor: Any) -> QuerySet[Pass]:
    """The passes a card may be printed for: live residents' and tenants' passes, fixed code."""
    now = timezone.now()
    return (
        Pass.objects.visible_to(actor)
        .filter(
            status=PassStatus.ACTIVE, dynamic=False, kind__in=[PassKind.RESIDENT, PassKind.TENANT]
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .exclude(code="")
    )


def print_areas(actor: Any) -> QuerySet[Area]:
    """Where a bulk print can be asked for: the compounds and buildings the actor sees."""
    areas: QuerySet[Area] = Area.objects.visible_to(actor)
    return areas.filter(kind__in=[AreaKind.COMPOUND, AreaKind.BUILDING]).order_by("path")


def _cards(passes: Sequence[Pass]) -> list[Card]:
    homes = [p.household for p in passes if p.household is not None]
    names = ancestor_names(list({h.area.pk: h.area for h in homes}.values()))
    return [
        Card(p, household_address(p.household, names) if p.household is not None else "")
        for p in passes
    ]


def cards_for_pass(actor: Any, p: Pass) -> list[Card]:
    require(actor, VIEW)
    found = list(
        printable(actor)
        .filter(pk=p.pk)
        .select_related("household__area")
        .prefetch_related(Prefetch("compounds", queryset=Area.objects.only("id", "name")))
    )
    if found:
        with transaction.atomic():
            audit.record("pass.print", actor=actor, target=p, details={"count": 1})
    return _cards(found)


def cards_for_area(actor: Any, area: Area) -> list[Card]:
    """Cards for every printable pass of a household under `area` (a building, a compound),
    in address order. `area` must come from `print_areas` (scoped by the caller)."""
    require(actor, VIEW)
    found = list(
        printable(actor)
        .filter(household__area__path__startswith=area.path)
        .select_related("household__area")
        .prefetch_related(Prefetch("compounds", queryset=Area.objects.only("id", "name")))
        .order_by("household__area__path", "household__door", "pk")[:MAX_CARDS]
    )
    if found:
        with transaction.atomic():
            audit.record("pass.print_bulk", actor=actor, area=area, details={"count": len(found)})
    return _cards(found)


def links_workbook(actor: Any, rows: Sequence[tuple[Pass, str]]) -> bytes:
    """The personal links of a bulk issue as an .xlsx to send out from (masked names)."""
    homes = [p.household for p, _link in rows if p.household is not None]
    names = ancestor_names(list({h.area.pk: h.area for h in homes}.values()))
    export = PersonalExport(actor, "个人链接")
    export.append([_("No."), _("Holder"), _("Address"), _("Personal link"), _("Valid until")])
    for number, (p, link) in enumerate(rows, start=1):
        until = timezone.localtime(p.valid_until).strftime("%Y-%m-%d") if p.valid_until else ""
        address = household_address(p.household, names) if p.household is not None else ""
        export.append([number, p.holder_name, address, link, until])
    return export.finish("pass.links_export", {"count": len(rows)})
