"""The devices app's permissions and which roles hold them (`DevicesConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_DEVICES = "devices.view_device"
MANAGE_DEVICES = "devices.change_device"
VIEW_DEAD_LETTERS = "devices.view_deadletter"
ADD_INGEST_KEY = "devices.add_ingestkey"


def grant() -> None:
    # Workers install and recover sensors at the door; operators also see undecodable messages.
    roles.grant(
        "devices",
        {
            Role.PLATFORM_ADMIN: {VIEW_DEVICES, MANAGE_DEVICES, VIEW_DEAD_LETTERS, ADD_INGEST_KEY},
            Role.TOWN_OPERATOR: {VIEW_DEVICES, MANAGE_DEVICES, VIEW_DEAD_LETTERS},
            Role.COMMUNITY_WORKER: {VIEW_DEVICES, MANAGE_DEVICES},
        },
    )
