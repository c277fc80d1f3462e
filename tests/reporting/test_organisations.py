"""Registering organisations and contacts; a contact reaches their own organisation only, by
page and by URL id (404, as if nothing were there); the district sees organisations, not
members' names."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from shouwang.core.models import AuditLog
from shouwang.core.scoping import get_visible
from shouwang.reporting.models import Declaration, Member, Organisation, OrgKind
from shouwang.reporting.services import declarations, organisations
from shouwang.reporting.services.declarations import Entry
from tests.conftest import Town, login
from tests.reporting.conftest import REAL_CODES, Orgs


def test_an_enterprise_needs_a_valid_unique_credit_code(town: Town) -> None:
    with pytest.raises(ValidationError) as caught:
        organisations.create_organisation(town.town_operator, OrgKind.ENTERPRISE, "甲厂", town.east)
    assert "credit_code" in caught.value.message_dict
    wrong = REAL_CODES[0][:17] + "0"
    with pytest.raises(ValidationError) as caught:
        organisations.create_organisation(
            town.town_operator, OrgKind.ENTERPRISE, "甲厂", town.east, credit_code=wrong
        )
    assert caught.value.message_dict["credit_code"]
    org = organisations.create_organisation(
        town.town_operator, OrgKind.ENTERPRISE, "甲厂", town.east, credit_code=REAL_CODES[0]
    )
    assert org.credit_code == REAL_CODES[0]
    assert AuditLog.objects.filter(action="reporting.organisation_create").count() == 1
    with pytest.raises(ValidationError):
        organisations.create_organisation(
            town.town_operator, OrgKind.ENTERPRISE, "乙厂", town.east, credit_code=REAL_CODES[0]
        )
    school = organisations.create_organisation(
        town.town_operator, OrgKind.SCHOOL, "东风小学", town.east, education_code="2131000001"
    )
    assert school.is_school


def test_a_worker_of_another_community_cannot_register_here(town: Town) -> None:
    with pytest.raises(PermissionDenied):
        organisations.create_organisation(
            town.west_worker, OrgKind.ENTERPRISE, "甲厂", town.east, credit_code=REAL_CODES[0]
        )


def test_contact_sees_only_their_own_organisation(orgs: Orgs, people: dict) -> None:
    contact = orgs.acme_contact
    assert list(Organisation.objects.visible_to(contact)) == [orgs.acme]
    assert set(Member.objects.visible_to(contact)) == {people["acme1"], people["acme2"]}
    with pytest.raises(Http404):
        get_visible(contact, Organisation, orgs.rival.pk)  # same community, other company
    with pytest.raises(Http404):
        get_visible(contact, Member, people["rival1"].pk)


def test_contact_urls_of_another_organisation_answer_404(orgs: Orgs, people: dict) -> None:
    client = login(orgs.acme_contact)
    assert client.get(f"/reporting/{orgs.acme.pk}/").status_code == 200
    assert client.get(f"/reporting/{orgs.acme.pk}/members/").status_code == 200
    assert client.get(f"/reporting/members/{people['acme1'].pk}/").status_code == 200
    for url in (
        f"/reporting/{orgs.rival.pk}/",
        f"/reporting/{orgs.rival.pk}/members/",
        f"/reporting/{orgs.rival.pk}/declare/",
        f"/reporting/{orgs.rival.pk}/import/",
        f"/reporting/{orgs.far.pk}/",
        f"/reporting/members/{people['rival1'].pk}/",
        f"/reporting/members/{people['pupil'].pk}/",
    ):
        assert client.get(url).status_code == 404, url
    page = client.get("/reporting/").content.decode()
    assert orgs.acme.name in page
    assert orgs.rival.name not in page
    # Revealing or linking another organisation's member by its id: 404, nothing audited.
    answer = client.post(f"/reporting/members/{people['rival1'].pk}/", {"field": "phone"})
    assert answer.status_code == 404
    assert not AuditLog.objects.filter(action="reporting.member_reveal").exists()


def test_contact_cannot_declare_for_another_organisations_member(orgs: Orgs, people: dict) -> None:
    today = timezone.localdate()
    result = declarations.declare(
        orgs.acme_contact,
        orgs.acme,
        today,
        0,
        [Entry(people["acme1"].pk, "36.5"), Entry(people["rival1"].pk, "36.6")],
    )
    assert list(result.errors) == [people["rival1"].pk]
    assert not Declaration.objects.exists()  # all or nothing
    # Declaring for the other organisation outright is 404.
    with pytest.raises(Http404):
        declarations.declare(orgs.acme_contact, orgs.rival, today, 0, [])
    # Through the grid: a forged row of the rival's member is refused, nothing stored.
    client = login(orgs.acme_contact)
    rival = people["rival1"].pk
    answer = client.post(
        f"/reporting/{orgs.acme.pk}/declare/", {"ok": [str(rival)], f"t-{rival}": "36.5"}
    )
    assert answer.status_code == 422
    assert not Declaration.objects.exists()


def test_district_sees_organisations_and_rates_not_names(
    town: Town, orgs: Orgs, people: dict
) -> None:
    client = login(town.town_operator)
    page = client.get("/reporting/").content.decode()
    assert orgs.acme.name in page
    assert orgs.far.name in page
    assert client.get(f"/reporting/{orgs.acme.pk}/members/").status_code == 403
    assert client.get(f"/reporting/members/{people['acme1'].pk}/").status_code == 403
    # A community worker sees the organisations of their own community only.
    worker = login(town.west_worker)
    assert worker.get(f"/reporting/{orgs.acme.pk}/").status_code == 404
    assert worker.get(f"/reporting/{orgs.far.pk}/").status_code == 200


def test_town_registers_an_organisation_and_its_contact_on_the_page(town: Town) -> None:
    client = login(town.town_operator)
    answer = client.post(
        "/reporting/new/",
        {"kind": "enterprise", "name": "甲厂", "area": town.east.pk, "credit_code": "123"},
    )
    assert answer.status_code == 422
    assert "18" in answer.content.decode()
    answer = client.post(
        "/reporting/new/",
        {"kind": "enterprise", "name": "甲厂", "area": town.east.pk, "credit_code": REAL_CODES[4]},
    )
    assert answer.status_code == 302
    org = Organisation.objects.get(name="甲厂")
    answer = client.post(
        f"/reporting/{org.pk}/",
        {"username": "jia", "password": "long-enough-pass", "display_name": "甲厂联系人"},
    )
    assert answer.status_code == 302
    contact = login(org.contacts.get().user)
    assert contact.get(f"/reporting/{org.pk}/").status_code == 200
    assert "企业/学校联系人" in str(org.contacts.get().user.get_role_display())
