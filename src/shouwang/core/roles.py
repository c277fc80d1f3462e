"""What each role may do, answered to Django's permission checks.

Roles are fixed by the work (a gate guard never needs ID numbers), so their capabilities live
in code, reviewed like code, rather than in editable groups that drift between towns.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from shouwang.core.models.staff import Role

VIEW_RESIDENTS = "core.view_person"
EDIT_RESIDENTS = "core.change_person"
REVEAL = "core.reveal_personal_data"
IMPORT = "core.import_residents"
EXPORT = "core.export_residents"
VIEW_AREAS = "core.view_area"
VIEW_HOUSEHOLDS = "core.view_household"
VIEW_AUDIT = "core.view_auditlog"
VIEW_DEVICES = "devices.view_device"
MANAGE_DEVICES = "devices.change_device"
VIEW_DEAD_LETTERS = "devices.view_deadletter"
ADD_INGEST_KEY = "devices.add_ingestkey"
VIEW_ALERTS = "alerts.view_alert"
HANDLE_ALERTS = "alerts.change_alert"
ADD_AREA = "core.add_area"
CHANGE_AREA = "core.change_area"

# Quarantine cases, health checks and the care watch (the quarantine app).
_QUARANTINE_WORK: frozenset[str] = frozenset(
    {
        "quarantine.view_case",
        "quarantine.change_case",
        "quarantine.export_case",
        "quarantine.view_careenrolment",
        "quarantine.change_careenrolment",
    }
)
# Issuing and revoking passes, reading the access log (the passes app).
_PASS_WORK: frozenset[str] = frozenset(
    {
        "passes.view_pass",
        "passes.add_pass",
        "passes.change_pass",
        "passes.view_scan",
        "passes.view_visitor",
    }
)
# What a guard does at the gate: verify codes, register visitors.
_GATE_WORK: frozenset[str] = frozenset(
    {"passes.use_gate", "passes.view_scan", "passes.add_visitor", "passes.view_visitor"}
)

_RESIDENT_WORK = {VIEW_AREAS, VIEW_HOUSEHOLDS, VIEW_RESIDENTS, EDIT_RESIDENTS, IMPORT, EXPORT}
# Workers install and recover sensors at the door; operators also see undecodable messages.
_DEVICE_WORK = {VIEW_DEVICES, MANAGE_DEVICES, VIEW_ALERTS, HANDLE_ALERTS}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(
        {
            *_RESIDENT_WORK,
            *_DEVICE_WORK,
            *_QUARANTINE_WORK,
            *_PASS_WORK,
            *_GATE_WORK,
            REVEAL,
            VIEW_AUDIT,
            ADD_AREA,
            CHANGE_AREA,
            VIEW_DEAD_LETTERS,
            ADD_INGEST_KEY,
        }
    ),
    # The town keeps its own part of the tree (new compounds, renamed buildings).
    Role.TOWN_OPERATOR: frozenset(
        {
            *_RESIDENT_WORK,
            *_DEVICE_WORK,
            *_QUARANTINE_WORK,
            *_PASS_WORK,
            *_GATE_WORK,
            REVEAL,
            VIEW_AUDIT,
            ADD_AREA,
            CHANGE_AREA,
            VIEW_DEAD_LETTERS,
        }
    ),
    # The worker calls residents at their door: the full phone number is part of the job.
    Role.COMMUNITY_WORKER: frozenset(
        {*_RESIDENT_WORK, *_DEVICE_WORK, *_QUARANTINE_WORK, *_PASS_WORK, REVEAL}
    ),
    Role.GATE_GUARD: frozenset({VIEW_AREAS, *_GATE_WORK}),
    Role.PATROL_OPERATOR: frozenset({VIEW_AREAS}),
    Role.ENTERPRISE_CONTACT: frozenset(),
    Role.REVIEWER: frozenset({VIEW_AREAS}),
}


class RoleBackend(ModelBackend):
    """Authenticates like Django's own backend; permissions come from the user's role only.

    No per-user or group permissions from the database: a role is the whole answer, and a
    page does not pay two permission queries per request. Superusers pass every check
    before any backend is asked.
    """

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(ROLE_PERMISSIONS.get(getattr(user_obj, "role", ""), frozenset()))

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()
