"""The demo's organisations: enterprises and a school with members, a week of declarations,
one organisation late today, a fever alert; seeded once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from shouwang.alerts.models import Alert
from shouwang.core.demo import DemoTown
from shouwang.reporting import alert_kinds as kinds
from shouwang.reporting import demo
from shouwang.reporting.models import (
    Application,
    AppState,
    Declaration,
    Member,
    Organisation,
    OrgKind,
)
from shouwang.reporting.services import rates
from tests.conftest import Town


def test_demo_organisations_report_for_a_week_with_one_late(town: Town) -> None:
    demo.demo_part(DemoTown("守望街道", street=town.street))
    orgs = {o.name: o for o in Organisation.objects.all()}
    assert {o.kind for o in orgs.values()} == {OrgKind.ENTERPRISE, OrgKind.SCHOOL}
    assert Member.objects.count() == sum(size for *_, size, _u in demo.ORGANISATIONS)
    today = timezone.localdate()
    week = set(Declaration.objects.values_list("day", flat=True))
    assert week == {today - timedelta(days=n) for n in range(7)}
    rows = {r.org.name: r for r in rates.for_day(list(orgs.values()), today)}
    assert rows["东风物流有限公司"].reported == 0  # late today
    assert 0 < rows["守望精密制造有限公司"].reported < rows["守望精密制造有限公司"].members
    assert Alert.objects.filter(kind=kinds.REPORTING_FEVER).count() == 1
    assert Declaration.objects.filter(absence="illness").exists()
    states = set(Application.objects.values_list("state", flat=True))
    assert states == set(AppState.values)  # an application in each state
    demo.demo_part(DemoTown("守望街道", street=town.street))
    assert Organisation.objects.count() == len(demo.ORGANISATIONS)
    assert Application.objects.count() == 4
