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
VIEW_APPLICATIONS = "reporting.view_application"
APPLY = "reporting.add_application"
REVIEW = "reporting.review_application"


def grant() -> None:
    district = {VIEW_ORGS, VIEW_RATES, VIEW_APPLICATIONS}
    contact = {
        VIEW_ORGS,
        VIEW_MEMBERS,
        MANAGE_MEMBERS,
        REVEAL_MEMBERS,
        DECLARE,
        VIEW_DECLARATIONS,
        VIEW_APPLICATIONS,
        APPLY,
    }
    roles.grant(
        "reporting",
        {
            Role.PLATFORM_ADMIN: district | contact | {MANAGE_ORGS, REVIEW},
            # The town registers organisations and their contacts and watches the rates; it
            # does not read members' names (the contact does, for their own people).
            Role.TOWN_OPERATOR: district | {MANAGE_ORGS},
            Role.COMMUNITY_WORKER: district,
            # 审核人员: the return-to-work review queue of their areas.
            Role.REVIEWER: district | {REVIEW},
            Role.ENTERPRISE_CONTACT: contact,
        },
    )
