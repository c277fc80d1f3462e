"""The masks app's permissions and which roles hold them (`MasksConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_ROUNDS = "masks.view_round"
ADD_ROUNDS = "masks.add_round"
CHANGE_ROUNDS = "masks.change_round"
VIEW_RESERVATIONS = "masks.view_reservation"
# Checking a pickup code at the point and handing the masks over.
HAND_OUT = "masks.change_reservation"


def grant() -> None:
    # Seeing the counts per point and the (masked) reservations of one's own areas.
    office = {VIEW_ROUNDS, VIEW_RESERVATIONS, HAND_OUT}
    # Opening rounds and setting stock.
    manage = office | {ADD_ROUNDS, CHANGE_ROUNDS}
    roles.grant(
        "masks",
        {
            Role.PLATFORM_ADMIN: manage,
            Role.TOWN_OPERATOR: manage,
            Role.COMMUNITY_WORKER: office,
        },
    )
