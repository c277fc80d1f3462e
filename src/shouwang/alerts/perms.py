"""The alerts app's permissions and which roles hold them (`AlertsConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_ALERTS = "alerts.view_alert"
HANDLE_ALERTS = "alerts.change_alert"


def grant() -> None:
    work = {VIEW_ALERTS, HANDLE_ALERTS}
    roles.grant(
        "alerts",
        {Role.PLATFORM_ADMIN: work, Role.TOWN_OPERATOR: work, Role.COMMUNITY_WORKER: work},
    )
