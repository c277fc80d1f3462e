"""The alerts app's permissions and which roles hold them (`AlertsConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_ALERTS = "alerts.view_alert"
HANDLE_ALERTS = "alerts.change_alert"
# Sending someone up to the door and saying they got there (上门).
VISIT_DOOR = "alerts.visit_door"


def grant() -> None:
    work = {VIEW_ALERTS, HANDLE_ALERTS, VISIT_DOOR}
    roles.grant(
        "alerts",
        {
            Role.PLATFORM_ADMIN: work,
            Role.TOWN_OPERATOR: work,
            Role.COMMUNITY_WORKER: work,
            # The compound's property office: its door alerts only (`models.kinds_visible_to`),
            # to send someone up and record the arrival; no resolving, no residents' phones.
            Role.PROPERTY_OFFICE: {VIEW_ALERTS, VISIT_DOOR},
        },
    )
