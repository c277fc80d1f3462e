"""What each role may do, answered to Django's permission checks.

Roles are fixed by the work (a gate guard never needs ID numbers), so their capabilities live
in code, reviewed like code, rather than in editable groups that drift between towns.

Each app grants its own permissions, and only its own, in its `AppConfig.ready()` with
`grant(app_label, {role: permissions})`: core, devices, alerts, quarantine, passes register
here. `permissions_of(role)` is the union.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured

from shouwang.core.models.staff import Role

VIEW_RESIDENTS = "core.view_person"
EDIT_RESIDENTS = "core.change_person"
REVEAL = "core.reveal_personal_data"
IMPORT = "core.import_residents"
EXPORT = "core.export_residents"
VIEW_AREAS = "core.view_area"
VIEW_HOUSEHOLDS = "core.view_household"
VIEW_AUDIT = "core.view_auditlog"
ADD_AREA = "core.add_area"
CHANGE_AREA = "core.change_area"

# app label → role → the app's permissions ("app_label.codename") that role holds.
_GRANTS: dict[str, dict[str, frozenset[str]]] = {}
_BY_ROLE: dict[str, frozenset[str]] = {}


def grant(app_label: str, grants: Mapping[Role, Iterable[str]]) -> None:
    """Registers the app's permissions per role, once per app. An app grants only its own
    permissions, so reading an app shows everything its roles may do there."""
    if app_label in _GRANTS:
        raise ImproperlyConfigured(f"{app_label} granted its permissions twice")
    own: dict[str, frozenset[str]] = {}
    for role, perms in grants.items():
        perms = frozenset(perms)
        foreign = sorted(p for p in perms if not p.startswith(f"{app_label}."))
        if foreign:
            raise ImproperlyConfigured(f"{app_label} grants another app's permissions: {foreign}")
        own[Role(role)] = perms
    _GRANTS[app_label] = own
    _BY_ROLE.clear()


def permissions_of(role: str) -> frozenset[str]:
    if not _BY_ROLE:
        for grants in _GRANTS.values():
            for name, perms in grants.items():
                _BY_ROLE[name] = _BY_ROLE.get(name, frozenset()) | perms
    return _BY_ROLE.get(role, frozenset())


def roles_with(perm: str) -> list[str]:
    return [role for role in Role.values if perm in permissions_of(role)]


def granting_apps() -> list[str]:
    return sorted(_GRANTS)


_RESIDENT_WORK = {VIEW_AREAS, VIEW_HOUSEHOLDS, VIEW_RESIDENTS, EDIT_RESIDENTS, IMPORT, EXPORT}
_TOWN_WORK = {*_RESIDENT_WORK, REVEAL, VIEW_AUDIT, ADD_AREA, CHANGE_AREA}


def grant_core() -> None:
    grant(
        "core",
        {
            Role.PLATFORM_ADMIN: _TOWN_WORK,
            # The town keeps its own part of the tree (new compounds, renamed buildings).
            Role.TOWN_OPERATOR: _TOWN_WORK,
            # The worker calls residents at their door: the full phone number is part of the job.
            Role.COMMUNITY_WORKER: {*_RESIDENT_WORK, REVEAL},
            Role.GATE_GUARD: {VIEW_AREAS},
            Role.PATROL_OPERATOR: {VIEW_AREAS},
            Role.REVIEWER: {VIEW_AREAS},
        },
    )


class RoleBackend(ModelBackend):
    """Authenticates like Django's own backend; permissions come from the user's role only.

    No per-user or group permissions from the database: a role is the whole answer, and a
    page does not pay two permission queries per request. Superusers pass every check
    before any backend is asked.
    """

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(permissions_of(getattr(user_obj, "role", "")))

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()
