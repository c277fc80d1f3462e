"""JSON API for areas, households and residents. Masked values only; reveal is audited."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from shouwang.core import roles
from shouwang.core.api_types import BoundedPagination, Id
from shouwang.core.models import Area, AreaKind, Household, Person
from shouwang.core.permissions import get_visible, require
from shouwang.core.services import areas as area_service
from shouwang.core.services import people as people_service

router = Router(tags=["residents"])


class AreaOut(Schema):
    id: int
    name: str
    kind: int
    kind_label: str
    parent_id: int | None
    households: int | None = Field(description="None for roles that may not see households")
    residents: int | None = Field(description="None for roles that may not see households")


class HouseholdOut(Schema):
    id: int
    area_id: int
    address: str
    door: str
    residents: int


class PersonOut(Schema):
    id: int
    household_id: int
    address: str
    name: str = Field(description="Masked name, e.g. 张*明")
    id_number: str = Field(description="Masked ID number, e.g. 110101********1234")
    phone: str = Field(description="Masked phone number, e.g. 138****5678")
    tags: list[str]


class RevealIn(Schema):
    field: str = Field(pattern="^(id_number|phone)$")
    reason: str = Field("", max_length=200)


class RevealOut(Schema):
    field: str
    value: str


class ListFilter(Schema):
    area: Id | None = None
    q: str | None = Field(None, max_length=40)


def _person_out(person: Person, names: dict[str, tuple[str, int]]) -> dict[str, Any]:
    return {
        "id": person.pk,
        "household_id": person.household_id,
        "address": area_service.household_address(person.household, names),
        "name": person.masked_name,
        "id_number": person.masked_id_number,
        "phone": person.masked_phone,
        "tags": [t.code for t in person.tags.all()],
    }


@router.get("/areas", response=list[AreaOut])
def list_areas(request: HttpRequest) -> list[dict[str, Any]]:
    require(request.user, roles.VIEW_AREAS)
    areas = list(Area.objects.visible_to(request.user))
    counts: dict[int, dict[str, int | None]]
    if request.user.has_perm(roles.VIEW_HOUSEHOLDS):
        counts = area_service.subtree_counts(areas, request.user)  # type: ignore[assignment]
    else:  # a guard: area names, no household or resident counts
        counts = {a.pk: {"households": None, "residents": None} for a in areas}
    by_path = {a.path: a.pk for a in areas}
    return [
        {
            "id": a.pk,
            "name": a.name,
            "kind": a.kind,
            "kind_label": a.kind_label,
            "parent_id": by_path.get(a.path[: -Area.steplen]),
            **counts[a.pk],
        }
        for a in areas
    ]


@router.get("/households", response=list[HouseholdOut])
@paginate(BoundedPagination)
def list_households(request: HttpRequest, filters: Query[ListFilter]) -> list[dict[str, Any]]:
    require(request.user, roles.VIEW_HOUSEHOLDS)
    queryset = Household.objects.visible_to(request.user).select_related("area")
    if filters.area:
        area = get_visible(request.user, Area, filters.area)
        queryset = queryset.filter(area__path__startswith=area.path)
    if filters.q:
        queryset = queryset.filter(door__icontains=filters.q)
    return _HouseholdPage(queryset.annotate(n=Count("residents")).order_by("area__path", "door"))  # type: ignore[return-value]


class _HouseholdPage:
    """A lazily sliced household list that renders addresses with one extra query per page."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset

    def __len__(self) -> int:  # Ninja's paginator counts with len() on non-querysets
        n: int = self.queryset.count()
        return n

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        page = list(self.queryset[item])
        names = area_service.ancestor_names([h.area for h in page])
        return [
            {
                "id": h.pk,
                "area_id": h.area_id,
                "door": h.door,
                "residents": h.n,
                "address": area_service.address_of(h.area, names),
            }
            for h in page
        ]


class _PersonPage(_HouseholdPage):
    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        page = list(self.queryset[item])
        names = area_service.ancestor_names([p.household.area for p in page])
        return [_person_out(p, names) for p in page]


@router.get("/households/{household_id}", response=HouseholdOut)
def get_household(request: HttpRequest, household_id: Id) -> dict[str, Any]:
    require(request.user, roles.VIEW_HOUSEHOLDS)
    household = get_visible(
        request.user,
        Household.objects.select_related("area").annotate(n=Count("residents")),
        household_id,
    )
    names = area_service.ancestor_names([household.area])
    return {
        "id": household.pk,
        "area_id": household.area_id,
        "door": household.door,
        "residents": household.n,  # type: ignore[attr-defined]
        "address": area_service.address_of(household.area, names, AreaKind.COMMUNITY),
    }


class PeopleFilter(ListFilter):
    tag: str | None = Field(None, max_length=40, description="tag code")


@router.get("/people", response=list[PersonOut])
@paginate(BoundedPagination)
def list_people(request: HttpRequest, filters: Query[PeopleFilter]) -> list[dict[str, Any]]:
    require(request.user, roles.VIEW_RESIDENTS)
    queryset: QuerySet[Person] = Person.objects.visible_to(request.user).select_related(
        "household__area"
    )
    if filters.area:
        area = get_visible(request.user, Area, filters.area)
        queryset = queryset.filter(household__area__path__startswith=area.path)
    if filters.tag:
        queryset = queryset.filter(tags__code=filters.tag)
    if filters.q:
        if people_service.is_identifying(filters.q):
            raise ValidationError(
                _("ID and phone numbers do not belong in a URL: use POST /api/v1/people/search.")
            )
        queryset = people_service.search(queryset, filters.q)
    return _PersonPage(queryset.prefetch_related("tags"))  # type: ignore[return-value]


class SearchIn(Schema):
    q: str = Field(min_length=1, max_length=40, description="full ID number, phone or name")


@router.post("/people/search", response=list[PersonOut])
def search_people(request: HttpRequest, body: SearchIn) -> list[dict[str, Any]]:
    """Find residents by a full ID or phone number, sent in the body rather than the URL."""
    require(request.user, roles.VIEW_RESIDENTS)
    found = list(
        people_service.search(Person.objects.visible_to(request.user), body.q)
        .select_related("household__area")
        .prefetch_related("tags")[:50]
    )
    names = area_service.ancestor_names([p.household.area for p in found])
    return [_person_out(p, names) for p in found]


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request: HttpRequest, person_id: Id) -> dict[str, Any]:
    require(request.user, roles.VIEW_RESIDENTS)
    person = get_visible(request.user, Person.objects.select_related("household__area"), person_id)
    return _person_out(person, area_service.ancestor_names([person.household.area]))


@router.post("/people/{person_id}/reveal", response=RevealOut)
def reveal_person(request: HttpRequest, person_id: Id, body: RevealIn) -> dict[str, str]:
    require(request.user, roles.VIEW_RESIDENTS)
    person = get_visible(request.user, Person.objects.select_related("household__area"), person_id)
    return {
        "field": body.field,
        "value": people_service.reveal(request.user, person, body.field, body.reason),
    }
