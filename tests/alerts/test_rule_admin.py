"""Rule settings per area in the admin: checked against the rule's own settings."""

from __future__ import annotations

import json

from django.test import Client

from shouwang.alerts import alert_kinds, rules
from shouwang.alerts.models import RuleSetting
from shouwang.core.models import AuditLog
from shouwang.devices import alert_kinds as device_kinds
from shouwang.quarantine import alert_kinds as quarantine_kinds
from tests.conftest import Town, login


def _admin(town: Town) -> Client:
    town.admin.is_staff = True
    town.admin.is_superuser = True
    town.admin.save()
    return login(town.admin)


def _post(client: Client, **fields: object) -> tuple[int, str]:
    data = {"enabled": "on", "severity": "", "params": "{}", **fields}
    response = client.post("/admin/alerts/rulesetting/add/", data)
    return response.status_code, response.content.decode()


def test_a_community_sets_its_own_care_threshold_and_it_applies_below(town: Town) -> None:
    client = _admin(town)
    page = client.get("/admin/alerts/rulesetting/add/").content.decode()
    assert '"inactive_hours": 12' in page  # the defaults are shown to whoever edits

    status, _ = _post(
        client,
        kind=quarantine_kinds.CARE_INACTIVITY,
        area=town.east.pk,
        params=json.dumps({"inactive_hours": 8, "active_from": "06:30"}),
    )

    assert status == 302
    book = rules.RuleBook([quarantine_kinds.CARE_INACTIVITY])
    east = book.resolve(quarantine_kinds.CARE_INACTIVITY, town.east_unit.path).params
    west = book.resolve(quarantine_kinds.CARE_INACTIVITY, town.west_unit.path).params
    assert (east["inactive_hours"], east["active_from"], east["active_until"]) == (
        8,
        "06:30",
        "21:00",
    )
    assert west["inactive_hours"] == 12
    assert AuditLog.objects.filter(action="admin.add", target_type="alerts.rulesetting").exists()


def test_unknown_names_and_wrong_values_are_refused_with_the_reason(town: Town) -> None:
    client = _admin(town)
    for params, reason in [
        ({"inactive_hour": 8}, "inactive_hour"),
        ({"inactive_hours": "eight"}, "inactive_hours"),
        ({"inactive_hours": -1}, "inactive_hours"),
        ({"active_from": "7 点"}, "active_from"),
        ({"active_from": "25:00"}, "active_from"),
    ]:
        status, page = _post(
            client,
            kind=quarantine_kinds.CARE_INACTIVITY,
            area=town.east.pk,
            params=json.dumps(params),
        )
        assert status == 200, params
        assert reason in page
    status, _ = _post(
        client, kind=quarantine_kinds.CARE_INACTIVITY, params="[1, 2]", area=town.east.pk
    )
    assert status == 200
    assert RuleSetting.objects.count() == 0


def test_a_setting_names_exactly_one_target(town: Town) -> None:
    client = _admin(town)
    status, _ = _post(client, kind=device_kinds.DOOR_HELD_OPEN)
    assert status == 200
    status, _ = _post(
        client, kind=device_kinds.DOOR_HELD_OPEN, area=town.east.pk, household=town.east_home.pk
    )
    assert status == 200
    status, _ = _post(
        client,
        kind=device_kinds.DOOR_HELD_OPEN,
        household=town.east_home.pk,
        params=json.dumps({"minutes": 3}),
    )
    assert status == 302
    setting = RuleSetting.objects.get()
    assert (setting.household_id, setting.params) == (town.east_home.pk, {"minutes": 3})


def test_settings_only_rules_can_be_set_too(town: Town) -> None:
    client = _admin(town)
    status, page = _post(
        client,
        kind=alert_kinds.ESCALATION,
        area=town.street.pk,
        params=json.dumps({"ack_minutes": 2}),
    )
    assert status == 302, page[:500]
    listing = client.get("/admin/alerts/rulesetting/").content.decode()
    assert str(rules.KINDS[alert_kinds.ESCALATION].label) in listing
