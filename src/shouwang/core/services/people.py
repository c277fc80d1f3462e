"""Actions on households and residents: create, change, find by ID number, reveal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shouwang.core import audit, crypto, identity, roles
from shouwang.core.models import Area, AreaKind, Household, Person, Tag
from shouwang.core.permissions import require, require_area

ID_INDEX = "person.id_number"
PHONE_INDEX = "person.phone"

REVEALABLE = {"id_number": gettext_lazy("ID number"), "phone": gettext_lazy("phone number")}


def id_index(id_number: str) -> str:
    return crypto.blind_index(id_number, ID_INDEX)


def phone_index(phone: str) -> str:
    return crypto.blind_index(phone, PHONE_INDEX)


@dataclass(frozen=True, slots=True)
class PersonData:
    """Validated, normalised input for a resident."""

    name: str
    id_number: str | None
    phone: str | None
    tags: tuple[Tag, ...] = ()

    @classmethod
    def clean(
        cls, name: str, id_number: str | None, phone: str | None, tags: Iterable[Tag] = ()
    ) -> PersonData:
        errors: dict[str, list[ValidationError]] = {}
        name = (name or "").strip()
        if not name:
            errors["name"] = [ValidationError(_("Name is required."), code="required")]
        elif len(name) > 100:
            errors["name"] = [ValidationError(_("Name is longer than 100 characters."))]
        clean_id = clean_phone = None
        if id_number and id_number.strip():
            try:
                clean_id = identity.normalize_id_number(id_number)
            except ValidationError as exc:
                errors["id_number"] = [exc]
        if phone and phone.strip():
            try:
                clean_phone = identity.normalize_phone(phone)
            except ValidationError as exc:
                errors["phone"] = [exc]
        tag_list = tuple(tags)
        if any(t.system for t in tag_list):
            errors["tags"] = [
                ValidationError(
                    _("Tags set by the system (such as under quarantine) cannot be set by hand.")
                )
            ]
        if errors:
            raise ValidationError(errors)
        return cls(name=name, id_number=clean_id, phone=clean_phone, tags=tag_list)

    def masked(self) -> dict[str, Any]:
        return {
            "name": identity.mask_name(self.name),
            "id_number": identity.mask_id_number(self.id_number),
            "phone": identity.mask_phone(self.phone),
            "tags": sorted(t.code for t in self.tags),
        }


def _apply(person: Person, data: PersonData) -> None:
    person.name = data.name
    person.id_number = data.id_number
    person.id_number_index = id_index(data.id_number) if data.id_number else None
    person.phone = data.phone
    person.phone_index = phone_index(data.phone) if data.phone else None


def _duplicate_id_error() -> ValidationError:
    return ValidationError(
        {
            "id_number": [
                ValidationError(
                    _("A resident with this ID number is already registered."), code="id_duplicate"
                )
            ]
        }
    )


def create_household(actor: Any, area: Area, door: str, note: str = "") -> Household:
    require(actor, roles.EDIT_RESIDENTS)
    require_area(actor, area.path)
    door = (door or "").strip()
    if not door or len(door) > 50:
        raise ValidationError({"door": [_("Door number must be 1 to 50 characters.")]})
    if area.kind < AreaKind.COMMUNITY:
        raise ValidationError({"area": [_("Households belong to a community or below.")]})
    with transaction.atomic():
        household, created = Household.objects.get_or_create(
            area=area, door=door, defaults={"note": note}
        )
        if created:
            audit.record(
                "household.create", actor=actor, target=household, area=area, details={"door": door}
            )
    return household


def create_person(actor: Any, household: Household, data: PersonData) -> Person:
    require(actor, roles.EDIT_RESIDENTS)
    require_area(actor, household.area.path)
    person = Person(household=household)
    _apply(person, data)
    try:
        with transaction.atomic():
            person.save()
            person.tags.set(data.tags)
            audit.record(
                "person.create",
                actor=actor,
                target=person,
                area=household.area,
                details=data.masked(),
            )
    except IntegrityError as exc:
        raise _duplicate_id_error() from exc
    return person


def update_person(
    actor: Any, person: Person, data: PersonData, household: Household | None = None
) -> Person:
    require(actor, roles.EDIT_RESIDENTS)
    require_area(actor, person.household.area.path)
    if household is not None:
        require_area(actor, household.area.path)
    before = PersonData(
        person.name, person.id_number, person.phone, tuple(person.tags.all())
    ).masked()
    after = data.masked()
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    # Masked values can coincide while the real ones differ (same first and last digits).
    raw_changed = (person.id_number, person.phone, person.name) != (
        data.id_number,
        data.phone,
        data.name,
    )
    if household is not None and household.pk != person.household_id:
        changes["household"] = [person.household_id, household.pk]
    if not changes and not raw_changed:
        return person
    _apply(person, data)
    if household is not None:
        person.household = household
    try:
        with transaction.atomic():
            person.save()
            person.tags.set(data.tags)
            audit.record(
                "person.update",
                actor=actor,
                target=person,
                area=person.household.area,
                details={"changes": changes},
            )
    except IntegrityError as exc:
        raise _duplicate_id_error() from exc
    return person


def find_by_id_number(actor: Any, id_number: str) -> Person | None:
    """The visible resident with this ID number, found through the blind index."""
    try:
        normalised = identity.normalize_id_number(id_number)
    except ValidationError:
        return None
    queryset = Person.objects.visible_to(actor)
    return queryset.filter(id_number_index=id_index(normalised)).first()


def reveal(actor: Any, person: Person, field: str, reason: str = "") -> str:
    """The full value of one protected field, for someone allowed to see it; always audited."""
    if field not in REVEALABLE:
        raise ValidationError(_("Only the ID number or the phone number can be revealed."))
    if actor is None or not actor.has_perm(roles.REVEAL):
        raise PermissionDenied(_("Your role may not see full ID or phone numbers."))
    require_area(actor, person.household.area.path)
    value: str = getattr(person, field) or ""
    with transaction.atomic():
        audit.record(
            "person.reveal",
            actor=actor,
            target=person,
            area=person.household.area,
            details={"field": field, "reason": reason[:200]},
        )
    return value


def search(queryset: QuerySet[Person], query: str) -> QuerySet[Person]:
    """A full ID or phone number is matched through its blind index; anything else by name."""
    try:
        return queryset.filter(id_number_index=id_index(identity.normalize_id_number(query)))
    except ValidationError:
        pass
    if query.replace(" ", "").isdigit() and len(query.replace(" ", "")) >= 7:
        try:
            return queryset.filter(phone_index=phone_index(identity.normalize_phone(query)))
        except ValidationError:
            pass
    return queryset.filter(name__icontains=query)


def is_identifying(text: str) -> bool:
    """Looks like a full ID or phone number: such text must not go into a URL."""
    digits = text.replace(" ", "").replace("-", "")
    return len(digits) >= 7 and (digits[:-1].isdigit())
