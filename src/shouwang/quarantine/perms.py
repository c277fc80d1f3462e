"""The quarantine app's permissions and which roles hold them (`QuarantineConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_CASES = "quarantine.view_case"
MANAGE_CASES = "quarantine.change_case"
EXPORT_CASES = "quarantine.export_case"
VIEW_CARE = "quarantine.view_careenrolment"
MANAGE_CARE = "quarantine.change_careenrolment"


def grant() -> None:
    # Cases, health checks and the care watch.
    work = {VIEW_CASES, MANAGE_CASES, EXPORT_CASES, VIEW_CARE, MANAGE_CARE}
    roles.grant(
        "quarantine",
        {Role.PLATFORM_ADMIN: work, Role.TOWN_OPERATOR: work, Role.COMMUNITY_WORKER: work},
    )
