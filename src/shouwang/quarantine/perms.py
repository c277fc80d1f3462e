"""The quarantine app's permission strings (granted per role in `core.roles`)."""

from __future__ import annotations

VIEW_CASES = "quarantine.view_case"
MANAGE_CASES = "quarantine.change_case"
EXPORT_CASES = "quarantine.export_case"
VIEW_CARE = "quarantine.view_careenrolment"
MANAGE_CARE = "quarantine.change_careenrolment"
