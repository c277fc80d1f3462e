"""The patrol app's permissions and which roles hold them (`PatrolConfig.ready`).

The operations centre (城运中心: the patrol operator, and the town operator who runs it) keeps
the cameras, walks the rounds and re-checks orders inside its town; a community worker sees
only what the patrol asks of their community (its rectification orders, their evidence) and
answers them, never the cameras, the rounds or the findings of others.
"""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_CHECKPOINTS = "patrol.view_checkpoint"
# Fetching a snapshot, uploading one for a camera Shouwang cannot reach.
USE_CAMERAS = "patrol.view_camera"
MANAGE_CAMERAS = "patrol.change_camera"
MANAGE_PLANS = "patrol.change_patrolplan"
VIEW_ROUNDS = "patrol.view_round"
WALK_ROUNDS = "patrol.change_round"
VIEW_ORDERS = "patrol.view_rectificationorder"
ANSWER_ORDERS = "patrol.answer_rectificationorder"
RECHECK_ORDERS = "patrol.recheck_rectificationorder"
# Blind inspections: drawn and done by the ops centre; a community never sees them (404).
INSPECT = "patrol.change_inspection"


def grant() -> None:
    centre = {
        VIEW_CHECKPOINTS,
        USE_CAMERAS,
        MANAGE_CAMERAS,
        MANAGE_PLANS,
        VIEW_ROUNDS,
        WALK_ROUNDS,
        VIEW_ORDERS,
        RECHECK_ORDERS,
        INSPECT,
    }
    roles.grant(
        "patrol",
        {
            Role.PLATFORM_ADMIN: centre,
            Role.TOWN_OPERATOR: centre,
            Role.PATROL_OPERATOR: centre,
            Role.COMMUNITY_WORKER: {VIEW_ORDERS, ANSWER_ORDERS},
        },
    )
