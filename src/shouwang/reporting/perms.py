"""The reporting app's permissions and which roles hold them (`ReportingConfig.ready`).

A contact (企业/学校联系人) works inside their own organisation only (`models.scope_restrict`);
the district sees organisations and rates, and members' names only where the role allows it.
"""

from __future__ import annotations

from shouwang.core import roles
from shouwang.core.models.staff import Role

VIEW_ORGS = "reporting.view_organisation"
MANAGE_ORGS = "reporting.change_organisation"
VIEW_RATES = "reporting.view_rates"
VIEW_MEMBERS = "reporting.view_member"
MANAGE_MEMBERS = "reporting.change_member"
REVEAL_MEMBERS = "reporting.reveal_member"
DECLARE = "reporting.add_declaration"
VIEW_DECLARATIONS = "reporting.view_declaration"


def grant() -> None:
    district = {VIEW_ORGS, VIEW_RATES}
    contact = {
        VIEW_ORGS,
        VIEW_MEMBERS,
        MANAGE_MEMBERS,
        REVEAL_MEMBERS,
        DECLARE,
        VIEW_DECLARATIONS,
    }
    roles.grant(
        "reporting",
        {
            Role.PLATFORM_ADMIN: district | contact | {MANAGE_ORGS},
            # The town registers organisations and their contacts and watches the rates; it
            # does not read members' names (the contact does, for their own people).
            Role.TOWN_OPERATOR: district | {MANAGE_ORGS},
            Role.COMMUNITY_WORKER: district,
            Role.REVIEWER: district,
            Role.ENTERPRISE_CONTACT: contact,
        },
    )
