"""Each app grants its own permissions to roles, once; the grants name real permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured

from shouwang.core import roles
from shouwang.core.models import Role


def test_every_app_with_permissions_grants_them_once() -> None:
    assert roles.granting_apps() == [
        "alerts",
        "core",
        "devices",
        "masks",
        "passes",
        "patrol",
        "quarantine",
        "reporting",
    ]
    with pytest.raises(ImproperlyConfigured, match="twice"):
        roles.grant("devices", {Role.GATE_GUARD: {"devices.view_device"}})


def test_an_app_may_not_grant_another_apps_permission() -> None:
    with pytest.raises(ImproperlyConfigured, match="another app"):
        roles.grant("nosuchapp", {Role.GATE_GUARD: {"core.reveal_personal_data"}})
    assert "nosuchapp" not in roles.granting_apps()


@pytest.mark.django_db
def test_every_granted_permission_exists() -> None:
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role in Role.values:
        assert roles.permissions_of(role) <= existing, role


def test_what_each_role_may_do() -> None:
    guard = roles.permissions_of(Role.GATE_GUARD)
    assert "passes.use_gate" in guard
    assert roles.REVEAL not in guard
    assert "alerts.view_alert" not in guard
    worker = roles.permissions_of(Role.COMMUNITY_WORKER)
    assert {roles.REVEAL, "devices.change_device", "quarantine.change_case"} <= worker
    assert "devices.view_deadletter" not in worker
    assert "devices.add_ingestkey" in roles.permissions_of(Role.PLATFORM_ADMIN)
    assert "devices.add_ingestkey" not in roles.permissions_of(Role.TOWN_OPERATOR)
    # An enterprise or school contact: their own organisation's reporting, nothing else.
    contact = roles.permissions_of(Role.ENTERPRISE_CONTACT)
    assert contact
    assert all(p.startswith("reporting.") for p in contact)
    assert "reporting.view_member" not in roles.permissions_of(Role.TOWN_OPERATOR)
    assert roles.roles_with("alerts.change_alert") == [
        Role.PLATFORM_ADMIN,
        Role.TOWN_OPERATOR,
        Role.COMMUNITY_WORKER,
    ]
