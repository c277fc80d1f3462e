"""Daily declarations: the contact's grid (prefilled from yesterday, Enter per member), the
member's phone link (own record only, expiring, no account), schools' 晨午检 and absences,
and the anomalies that become alerts, with an injected clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from shouwang.alerts.models import Alert, AlertStatus, RuleSetting
from shouwang.core.models import AuditLog
from shouwang.reporting import alert_kinds as kinds
from shouwang.reporting.models import Declaration, MemberLink, Slot, Source
from shouwang.reporting.services import declarations
from shouwang.reporting.services.declarations import Entry
from tests.conftest import Town, login
from tests.reporting.conftest import Orgs, add_member

TODAY = date(2026, 12, 1)
YESTERDAY = TODAY - timedelta(days=1)


def test_a_batch_is_stored_once_per_member_and_check(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1, a2 = people["acme1"], people["acme2"]
    result = declarations.declare(
        orgs.acme_contact,
        orgs.acme,
        TODAY,
        Slot.DAY,
        [Entry(a1.pk, "36.5"), Entry(a2.pk, "３６．８℃")],
    )
    assert (result.stored, result.fevers, result.errors) == (2, 0, {})
    assert Declaration.objects.get(member=a2).temperature == Decimal("36.8")
    # Entered again (a correction): updated, not doubled.
    declarations.declare(orgs.acme_contact, orgs.acme, TODAY, Slot.DAY, [Entry(a2.pk, "36.9")])
    assert Declaration.objects.filter(member=a2).count() == 1
    assert Declaration.objects.get(member=a2).temperature == Decimal("36.9")
    assert AuditLog.objects.filter(action="reporting.declare").count() == 2


def test_bad_values_refuse_the_batch_with_reasons(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1, a2 = people["acme1"], people["acme2"]
    result = declarations.declare(
        orgs.acme_contact,
        orgs.acme,
        TODAY,
        Slot.DAY,
        [Entry(a1.pk, "36.5"), Entry(a2.pk, "63.5", symptoms=["hiccups"])],
    )
    assert set(result.errors) == {a2.pk}
    assert len(result.errors[a2.pk]) == 2
    assert not Declaration.objects.exists()
    with pytest.raises(ValidationError):  # tomorrow has not come
        declarations.declare(orgs.acme_contact, orgs.acme, TODAY + timedelta(days=1), 0, [])
    with pytest.raises(ValidationError):  # an enterprise has no 晨检
        declarations.declare(orgs.acme_contact, orgs.acme, TODAY, Slot.MORNING, [])
    with pytest.raises(ValidationError):  # more than a week late
        declarations.declare(orgs.acme_contact, orgs.acme, TODAY - timedelta(days=8), 0, [])


def test_schools_declare_morning_and_noon_checks_and_absences(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    pupil = people["pupil"]
    declarations.declare(
        orgs.school_contact, orgs.school, TODAY, Slot.MORNING, [Entry(pupil.pk, "36.4")]
    )
    result = declarations.declare(
        orgs.school_contact,
        orgs.school,
        TODAY,
        Slot.NOON,
        [Entry(pupil.pk, None, absence="illness", absence_note="咳嗽，家长接回")],
    )
    assert result.stored == 1
    noon = Declaration.objects.get(member=pupil, slot=Slot.NOON)
    assert (noon.absence, noon.temperature) == ("illness", None)
    with pytest.raises(ValidationError):
        declarations.declare(orgs.school_contact, orgs.school, TODAY, Slot.DAY, [])
    # An absence for another reason must say which.
    result = declarations.declare(
        orgs.school_contact, orgs.school, TODAY, Slot.NOON, [Entry(pupil.pk, None, absence="other")]
    )
    assert result.errors
    # Enterprises have no absences on the grid.
    result = declarations.declare(
        orgs.acme_contact, orgs.acme, TODAY, 0, [Entry(people["acme1"].pk, None, absence="illness")]
    )
    assert result.errors


def test_fever_raises_one_alert_for_the_organisations_area(
    town: Town, orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1 = people["acme1"]
    result = declarations.declare(orgs.acme_contact, orgs.acme, TODAY, 0, [Entry(a1.pk, "37.3")])
    assert (result.fevers, result.alerts) == (1, 1)
    alert = Alert.objects.get(kind=kinds.REPORTING_FEVER)
    assert alert.area == town.east
    assert alert.subject == f"member:{a1.pk}"
    assert "王*" in alert.title
    assert "王伟" not in alert.title
    assert alert.status == AlertStatus.OPEN
    # The east worker sees it; the west worker does not.
    assert Alert.objects.visible_to(town.east_worker).filter(pk=alert.pk).exists()
    assert not Alert.objects.visible_to(town.west_worker).filter(pk=alert.pk).exists()
    # 37.2 is below the threshold; a district may lower it.
    declarations.declare(
        orgs.acme_contact, orgs.acme, TODAY, 0, [Entry(people["acme2"].pk, "37.2")]
    )
    assert Alert.objects.filter(kind=kinds.REPORTING_FEVER).count() == 1
    RuleSetting.objects.create(
        kind=kinds.REPORTING_FEVER, area=town.street, params={"threshold": 37.0}
    )
    declarations.declare(
        orgs.acme_contact, orgs.acme, TODAY, 0, [Entry(people["acme2"].pk, "37.2")]
    )
    assert Alert.objects.filter(kind=kinds.REPORTING_FEVER).count() == 2


def test_symptoms_case_contact_and_risk_travel_alert(
    town: Town, orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    RuleSetting.objects.create(
        kind=kinds.REPORTING_TRAVEL,
        area=town.district,
        params={
            "areas": [
                {"name": "某某区", "from": "2026-11-10", "until": "2026-11-20"},
                {"name": "旧区", "from": "2026-10-01", "until": "2026-10-20"},
            ]
        },
    )
    a1, a2 = people["acme1"], people["acme2"]
    declarations.declare(
        orgs.acme_contact,
        orgs.acme,
        TODAY,
        0,
        [
            Entry(a1.pk, "36.6", symptoms=["cough"], travel="11月18日 某某区 出差"),
            Entry(a2.pk, "36.6", contact_case=True, travel="旧区"),  # at risk long before
        ],
    )
    raised = sorted(Alert.objects.values_list("kind", "subject"))
    assert raised == sorted(
        [
            (kinds.REPORTING_SYMPTOMS, f"member:{a1.pk}"),
            (kinds.REPORTING_TRAVEL, f"member:{a1.pk}"),
            (kinds.REPORTING_CONTACT, f"member:{a2.pk}"),
        ]
    )


def test_a_cluster_is_three_members_with_fever_within_three_days(
    orgs: Orgs, clock: time_machine.Coordinates
) -> None:
    staff = [add_member(orgs.acme, f"工人{i}", _id(i)) for i in range(4)]
    clock.move_to(datetime.fromisoformat("2026-11-28T01:00+00:00"))
    declarations.declare(None, orgs.acme, date(2026, 11, 28), 0, [Entry(staff[0].pk, "38.0")])
    clock.move_to(datetime.fromisoformat("2026-11-29T01:00+00:00"))
    declarations.declare(None, orgs.acme, date(2026, 11, 29), 0, [Entry(staff[1].pk, "38.1")])
    clock.move_to(datetime.fromisoformat("2026-12-01T01:00+00:00"))
    # 11-28 lies outside 3 days of 12-01 (11-29, 11-30, 12-01): two members, no cluster yet.
    declarations.declare(None, orgs.acme, TODAY, 0, [Entry(staff[2].pk, "38.2")])
    assert not Alert.objects.filter(kind=kinds.REPORTING_CLUSTER).exists()
    declarations.declare(None, orgs.acme, TODAY, 0, [Entry(staff[3].pk, "37.9")])
    cluster = Alert.objects.get(kind=kinds.REPORTING_CLUSTER)
    assert cluster.subject == f"organisation:{orgs.acme.pk}"
    assert cluster.entries.get().data["members"] == 3


def _id(n: int) -> str:
    from shouwang.core.identity import id_check_char

    first17 = f"11010519800101{n:03d}"
    return first17 + id_check_char(first17)


# --- the grid ---------------------------------------------------------------------------


def test_the_grid_is_prefilled_from_yesterday_and_saves_confirmed_rows(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1, a2 = people["acme1"], people["acme2"]
    clock.move_to(datetime.fromisoformat("2026-11-30T01:00+00:00"))
    declarations.declare(None, orgs.acme, YESTERDAY, 0, [Entry(a1.pk, "36.7", travel="上海")])
    clock.move_to(datetime.fromisoformat("2026-12-01T01:00+00:00"))
    client = login(orgs.acme_contact)
    page = client.get(f"/reporting/{orgs.acme.pk}/declare/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'name="t-{a1.pk}" value="36.7"' in html  # yesterday's values
    assert f'name="tr-{a1.pk}" value="上海"' in html
    assert f'name="t-{a2.pk}" value="36.5"' in html  # nothing yesterday: a normal value
    assert "王伟" not in html  # masked names
    answer = client.post(
        f"/reporting/{orgs.acme.pk}/declare/",
        {"ok": [str(a1.pk)], f"t-{a1.pk}": "36.7", f"tr-{a1.pk}": "上海", f"t-{a2.pk}": "36.5"},
    )
    assert answer.status_code == 302
    today = Declaration.objects.filter(day=TODAY)
    assert [d.member_id for d in today] == [a1.pk]  # only the confirmed row
    assert today[0].source == Source.GRID


def test_a_bad_grid_row_keeps_what_was_typed(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1, a2 = people["acme1"], people["acme2"]
    client = login(orgs.acme_contact)
    answer = client.post(
        f"/reporting/{orgs.acme.pk}/declare/",
        {"ok": [str(a1.pk), str(a2.pk)], f"t-{a1.pk}": "36.6", f"t-{a2.pk}": "3.7"},
    )
    assert answer.status_code == 422
    html = answer.content.decode()
    assert f'name="t-{a2.pk}" value="3.7"' in html
    assert not Declaration.objects.exists()


# --- the member's phone link --------------------------------------------------------------


def test_the_phone_link_declares_for_its_own_member_only(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1, a2 = people["acme1"], people["acme2"]
    _link, token = declarations.issue_link(orgs.acme_contact, a1)
    assert len(token) == 43  # 256 bits, URL-safe
    assert MemberLink.objects.get().token_hash != token
    phone = Client()  # no account
    page = phone.get(f"/r/{token}/")
    assert page.status_code == 200
    assert "王*" in page.content.decode()
    assert "王伟" not in page.content.decode()
    # A field naming another member is ignored: the token names the member.
    answer = phone.post(
        f"/r/{token}/", {"temperature": "36.6", "member": a2.pk, "member_id": a2.pk}
    )
    assert answer.status_code == 200
    stored = Declaration.objects.get()
    assert (stored.member_id, stored.source) == (a1.pk, Source.LINK)
    assert not Declaration.objects.filter(member=a2).exists()
    # The page shows the member's own declarations only.
    declarations.declare(None, orgs.acme, TODAY, 0, [Entry(a2.pk, "36.9")])
    assert "36.9" not in phone.get(f"/r/{token}/").content.decode()
    assert phone.get("/r/" + "A" * 43 + "/").status_code == 404
    assert phone.get("/r/short/").status_code == 404


def test_the_phone_link_expires_and_a_new_one_replaces_it(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    a1 = people["acme1"]
    _link, token = declarations.issue_link(orgs.acme_contact, a1)
    phone = Client()
    clock.move_to(datetime.fromisoformat("2026-12-14T23:00+00:00"))  # just under 14 days later
    assert phone.get(f"/r/{token}/").status_code == 200
    clock.move_to(datetime.fromisoformat("2026-12-15T00:31+00:00"))
    assert phone.get(f"/r/{token}/").status_code == 410
    assert phone.post(f"/r/{token}/", {"temperature": "36.5"}).status_code == 410
    assert not Declaration.objects.exists()
    _link, second = declarations.issue_link(orgs.acme_contact, a1)
    _link, third = declarations.issue_link(orgs.acme_contact, a1)
    assert phone.get(f"/r/{second}/").status_code == 410  # replaced
    assert phone.get(f"/r/{third}/").status_code == 200


def test_a_fever_on_the_phone_raises_the_alert(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    _link, token = declarations.issue_link(orgs.acme_contact, people["acme1"])
    Client().post(f"/r/{token}/", {"temperature": "38.4", "symptoms": ["cough"]})
    assert set(Alert.objects.values_list("kind", flat=True)) == {
        kinds.REPORTING_FEVER,
        kinds.REPORTING_SYMPTOMS,
    }
    entry = AuditLog.objects.get(action="reporting.declare")
    assert (entry.source, entry.actor) == ("member", None)


def test_another_organisations_contact_cannot_issue_a_link(orgs: Orgs, people: dict) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        declarations.issue_link(orgs.rival_contact, people["acme1"])
    client = login(orgs.rival_contact)
    answer = client.post(f"/reporting/members/{people['acme1'].pk}/", {"action": "link"})
    assert answer.status_code == 404
    assert not MemberLink.objects.exists()
