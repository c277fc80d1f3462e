"""Issuing passes (one, a whole compound, tenants), their status, and the signing keys."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shouwang.core.models import AuditLog, Person
from shouwang.core.services.people import PersonData, create_person
from shouwang.passes.models import KeyStatus, Pass, PassKind, PassStatus, SigningKey
from shouwang.passes.services import issue, keys, rotation
from shouwang.passes.services.verify import evaluate
from tests.conftest import Town
from tests.passes.conftest import T0


def test_a_resident_pass_is_for_their_compound_and_signed(town: Town, clock: object) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    p = issued.pass_obj
    assert p.kind == PassKind.RESIDENT
    assert p.status == PassStatus.ACTIVE
    assert list(p.compounds.all()) == [town.east_compound]
    assert p.holder_name == "张*明"
    assert p.code.startswith("SW1:")
    assert p.kid
    assert issue.pass_for_link(issued.link_token) == p
    assert p.link_hash != issued.link_token  # only a hash is kept
    assert AuditLog.objects.filter(action="pass.issue", target_id=str(p.pk)).exists()
    assert evaluate(p.code, town.east_compound.pk).allowed


def test_the_signing_key_lives_in_a_private_file_not_in_the_database(
    town: Town, settings: object
) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    key = SigningKey.objects.get(kid=p.kid)
    path = keys.key_dir() / f"{key.kid}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() not in {key.public_key, p.code}


def test_a_tenant_pass_needs_an_end_and_stops_there(town: Town, clock: object) -> None:
    with pytest.raises(ValidationError) as caught:
        issue.issue_pass(town.east_worker, town.east_person, kind=PassKind.TENANT)
    assert "valid_until" in caught.value.message_dict
    end = T0 + timedelta(days=30)
    p = issue.issue_pass(
        town.east_worker, town.east_person, kind=PassKind.TENANT, valid_until=end
    ).pass_obj
    assert evaluate(p.code, town.east_compound.pk, T0 + timedelta(days=29)).allowed
    assert evaluate(p.code, town.east_compound.pk, end).reason == "expired"
    assert p.link_expires_at == end


def test_a_pass_for_several_compounds(town: Town) -> None:
    p = issue.issue_pass(
        town.town_operator, town.east_person, compounds=[town.east_compound, town.west_compound]
    ).pass_obj
    assert evaluate(p.code, town.west_compound.pk).allowed


def test_only_compounds_inside_the_issuers_areas(town: Town) -> None:
    with pytest.raises(Http404):
        issue.issue_pass(town.east_worker, town.east_person, compounds=[town.west_compound])
    with pytest.raises(ValidationError):
        issue.issue_pass(town.east_worker, town.east_person, compounds=[town.east_unit])
    with pytest.raises(Http404):
        issue.issue_pass(town.east_worker, town.west_person)
    with pytest.raises(PermissionDenied):
        issue.issue_pass(town.gate_guard, town.east_person)
    assert not Pass.objects.exists()


def test_bulk_issue_covers_the_whole_compound_once(town: Town) -> None:
    neighbour = create_person(None, town.east_home, PersonData.clean("王五", "", ""))
    first = issue.issue_for_compound(town.east_worker, town.east_compound)
    assert {i.pass_obj.person for i in first} == {town.east_person, neighbour}
    assert len({i.link_token for i in first}) == 2
    # Again: nobody gets a second pass; a newcomer gets theirs.
    newcomer = create_person(None, town.east_home, PersonData.clean("赵六", "", ""))
    second = issue.issue_for_compound(town.east_worker, town.east_compound)
    assert [i.pass_obj.person for i in second] == [newcomer]
    assert Pass.objects.filter(person__household__area__path__startswith="0001").count() == 3
    assert not Pass.objects.filter(person=town.west_person).exists()
    entry = AuditLog.objects.get(action="pass.issue_bulk", details__count=2)
    assert entry.area == town.east_compound


def test_bulk_issue_is_one_transaction(town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    create_person(None, town.east_home, PersonData.clean("王五", "", ""))
    real = issue._new_link
    calls = []

    def failing(p: Pass) -> str:
        calls.append(p)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(p)

    monkeypatch.setattr(issue, "_new_link", failing)
    with pytest.raises(RuntimeError):
        issue.issue_for_compound(town.east_worker, town.east_compound)
    assert not Pass.objects.exists()


def test_revoke_and_suspend_need_a_reason_and_are_audited(town: Town) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    with pytest.raises(ValidationError):
        issue.suspend(town.east_worker, p, "  ")
    issue.suspend(town.east_worker, p, "外出务工")
    assert evaluate(p.code, town.east_compound.pk).reason == "suspended"
    issue.reinstate(town.east_worker, p, "已返回")
    assert evaluate(p.code, town.east_compound.pk).allowed
    issue.revoke(town.east_worker, p, "搬离")
    assert evaluate(p.code, town.east_compound.pk).reason == "revoked"
    with pytest.raises(ValidationError):
        issue.reinstate(town.east_worker, p, "搬回")
    actions = list(
        AuditLog.objects.filter(target_id=str(p.pk), action__startswith="pass.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["pass.issue", "pass.suspend", "pass.reinstate", "pass.revoke"]
    with pytest.raises(Http404):
        issue.revoke(town.west_worker, p, "越权")


def test_a_new_link_ends_the_old_one(town: Town) -> None:
    issued = issue.issue_pass(town.east_worker, town.east_person)
    token = issue.new_link(town.east_worker, issued.pass_obj)
    assert issue.pass_for_link(issued.link_token) is None
    assert issue.pass_for_link(token) == issued.pass_obj
    assert issue.pass_for_link("") is None
    assert issue.pass_for_link("x" * 500) is None


def test_links_expire(town: Town) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        issued = issue.issue_pass(town.east_worker, town.east_person)
        clock.shift(timedelta(days=issue.LINK_DAYS + 1))
        assert issue.pass_for_link(issued.link_token) is None


def test_key_rotation_keeps_old_codes_valid_until_their_key_is_retired(town: Town) -> None:
    old = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    old_code, old_kid = old.code, old.kid
    new_key = keys.create_signing_key(None)
    later = issue.issue_pass(town.west_worker, town.west_person).pass_obj
    assert later.kid == new_key.kid != old_kid
    assert evaluate(old_code, town.east_compound.pk).allowed
    assert {k["kid"] for k in keys.verification_keys()} == {old_kid, new_key.kid}

    assert rotation.retire_signing_key(None, old_kid) == 1
    assert SigningKey.objects.get(kid=old_kid).status == KeyStatus.RETIRED
    assert not (keys.key_dir() / f"{old_kid}.key").exists()
    assert evaluate(old_code, town.east_compound.pk).reason == "retired_key"
    old.refresh_from_db()
    assert old.kid == new_key.kid
    assert old.code != old_code
    assert evaluate(old.code, town.east_compound.pk).allowed
    assert [k["kid"] for k in keys.verification_keys()] == [new_key.kid]


def test_the_last_key_cannot_be_retired(town: Town) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    with pytest.raises(ValidationError):
        rotation.retire_signing_key(None, p.kid)
    with pytest.raises(ValidationError):
        rotation.retire_signing_key(None, "nope")
    with pytest.raises(PermissionDenied):
        keys.create_signing_key(town.east_worker)


def test_people_are_protected_while_they_hold_a_pass(town: Town) -> None:
    issue.issue_pass(town.east_worker, town.east_person)
    assert Person.objects.filter(pk=town.east_person.pk).exists()
