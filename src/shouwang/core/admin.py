"""Back office for platform admins. Writes here are audited like any other action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from shouwang.core import audit
from shouwang.core.addresses import label_households
from shouwang.core.models import Area, AuditLog, Household, Person, Tag, User

if TYPE_CHECKING:
    _UserAdminBase = DjangoUserAdmin[User]
else:
    _UserAdminBase = DjangoUserAdmin


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admin saves run inside the admin's transaction; the audit entry joins it."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            f"admin.{'change' if change else 'add'}",
            actor=request.user,
            target=obj,
            details={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.record("admin.delete", actor=request.user, target=obj, details={"repr": str(obj)})
        super().delete_model(request, obj)


class LabelsHouseholds(admin.ModelAdmin):  # type: ignore[type-arg]
    """A list whose rows show a household (its full address, `Household.__str__`): the page's
    addresses are found in one query (`label_households`), not one per row. The list must
    select `household__area` (`list_select_related`)."""

    household_field = "household"

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        label_households(getattr(row, self.household_field) for row in changelist.result_list)
        return changelist


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """For what only changes through actions (which validate, mask and audit) or never
    changes at all (logs): the admin shows it and nothing more."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Area)
class AreaAdmin(AuditedAdmin, TreeAdmin):  # type: ignore[misc]
    form = movenodeform_factory(Area)
    list_display = ["name", "kind", "code"]
    search_fields = ["name", "code"]


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    list_display = ["name", "code", "name_en", "system"]


@admin.register(Household)
class HouseholdAdmin(AuditedAdmin):
    list_display = ["door", "area"]
    search_fields = ["door"]
    list_select_related = ["area"]
    raw_id_fields = ["area"]


@admin.register(Person)
class PersonAdmin(LabelsHouseholds, ReadOnlyAdmin):
    """Read-only: residents change through the roster import and the workers' screens, which
    validate, mask and audit; a bare admin form would show and store raw ID numbers."""

    list_display = ["name_shown", "household", "phone_shown"]
    list_select_related = ["household__area"]
    fields = ("name_shown", "household", "id_number_shown", "phone_shown", "tags")
    readonly_fields = fields

    # Labels for the masked values (a bare property would be labelled in English).
    @admin.display(description=_("name"))
    def name_shown(self, person: Person) -> str:
        return person.masked_name

    @admin.display(description=_("ID number"))
    def id_number_shown(self, person: Person) -> str:
        return person.masked_id_number

    @admin.display(description=_("phone number"))
    def phone_shown(self, person: Person) -> str:
        return person.masked_phone


@admin.register(User)
class UserAdmin(AuditedAdmin, _UserAdminBase):
    list_display = ["username", "display_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    filter_horizontal = ["areas"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Shouwang"), {"fields": ("display_name", "role", "areas")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Shouwang"), {"fields": ("display_name", "role", "areas")}),
    )


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "target_type", "target_id", "source", "ip"]
    list_filter = ["action", "source"]
    search_fields = ["actor_label", "target_id", "action"]
    date_hierarchy = "at"
