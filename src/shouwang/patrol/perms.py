"""The patrol app's permissions and which roles hold them (`PatrolConfig.ready`).

The operations centre (城运中心: the patrol operator, and the town operator who runs it) keeps
the cameras and walks the rounds inside its town; a community worker sees only what the
patrol asks of their community (rectification orders), never the cameras or the rounds.
"""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_CHECKPOINTS = "patrol.view_checkpoint"
# Fetching a snapshot, uploading one for a camera Shouwang cannot reach.
USE_CAMERAS = "patrol.view_camera"
MANAGE_CAMERAS = "patrol.change_camera"


def grant() -> None:
    centre = {VIEW_CHECKPOINTS, USE_CAMERAS, MANAGE_CAMERAS}
    roles.grant(
        "patrol",
        {
            Role.PLATFORM_ADMIN: centre,
            Role.TOWN_OPERATOR: centre,
            Role.PATROL_OPERATOR: centre,
        },
    )
