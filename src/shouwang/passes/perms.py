"""The passes app's permissions and which roles hold them (`PassesConfig.ready`)."""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_PASSES = "passes.view_pass"
ISSUE_PASSES = "passes.add_pass"
CHANGE_PASSES = "passes.change_pass"
VIEW_SCANS = "passes.view_scan"
USE_GATE = "passes.use_gate"
VIEW_VISITORS = "passes.view_visitor"
ADD_VISITORS = "passes.add_visitor"
# Letting a visitor in to a household under home quarantine (delivery, medical staff…).
APPROVE_VISITS = "passes.approve_visitor"


def grant() -> None:
    # Issuing and revoking passes, reading the access log.
    office = {VIEW_PASSES, ISSUE_PASSES, CHANGE_PASSES, VIEW_SCANS, VIEW_VISITORS, APPROVE_VISITS}
    # What a guard does at the gate: verify codes, register visitors.
    gate = {USE_GATE, VIEW_SCANS, ADD_VISITORS, VIEW_VISITORS}
    roles.grant(
        "passes",
        {
            Role.PLATFORM_ADMIN: office | gate,
            Role.TOWN_OPERATOR: office | gate,
            Role.COMMUNITY_WORKER: office,
            Role.GATE_GUARD: gate,
        },
    )
