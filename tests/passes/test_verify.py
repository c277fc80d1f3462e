"""The gate's verdicts: every reason, the access log, quarantine and its alert, dynamic codes,
offline uploads and what an offline verifier keeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shouwang.alerts.models import Alert
from shouwang.passes.alert_kinds import QUARANTINE_GATE_DENIED
from shouwang.passes.models import Pass, PassStatus, Scan
from shouwang.passes.services import codec, issue, keys, rotation
from shouwang.passes.services.verify import (
    SNAPSHOT_SECONDS,
    Gate,
    check,
    dynamic_code,
    evaluate,
    sync_payload,
    upload,
)
from shouwang.passes.services.visitors import register_visitor
from tests.conftest import Town
from tests.passes.conftest import T0, end_quarantine, quarantine


@pytest.fixture
def resident_pass(town: Town, clock: time_machine.Coordinates) -> Pass:
    return issue.issue_pass(
        town.east_worker, town.east_person, valid_until=T0 + timedelta(days=90)
    ).pass_obj


def east_gate(town: Town) -> Gate:
    return Gate(town.east_compound, "东门", guard=town.gate_guard)


def test_a_valid_pass_is_let_in_and_logged(town: Town, resident_pass: Pass) -> None:
    verdict = check(east_gate(town), resident_pass.code, direction="out", scan_id="scan-0001")
    assert verdict.allowed
    assert verdict.reason == "ok"
    assert verdict.holder_name == "张*明"
    scan = Scan.objects.get(scan_id="scan-0001")
    assert (scan.allowed, scan.direction, scan.gate, scan.guard) == (
        True,
        "out",
        "东门",
        town.gate_guard,
    )
    assert scan.person == town.east_person
    assert scan.pass_obj == resident_pass
    assert scan.at == T0


def test_every_denial_reason(town: Town, resident_pass: Pass, clock: Any) -> None:
    gate = town.east_compound.pk
    code = resident_pass.code
    assert evaluate(code, town.west_compound.pk).reason == "wrong_compound"
    assert evaluate("hello", gate).reason == "malformed"
    assert evaluate("SW1:%%%", gate).reason == "malformed"
    assert evaluate(code, gate, T0 - timedelta(hours=1)).reason == "not_yet_valid"
    assert evaluate(code, gate, T0 + timedelta(days=90)).reason == "expired"
    # A pass deleted from the database (or never issued here) is not found.
    kid, private = keys.current_signer()
    ghost = codec.Claims(pass_id=999_999, name="王*", compounds=(gate,), kind="r", issued_at=T0)
    assert evaluate(codec.sign(ghost, private, kid), gate).reason == "not_found"
    # Signed by a key nobody issued: forged.
    stranger = keys._cose_key(*_fresh_key(kid))
    assert evaluate(codec.sign(ghost, stranger, kid), gate).reason == "forged"
    assert evaluate(codec.sign(ghost, stranger, "zzzz"), gate).reason == "forged"
    issue.suspend(town.east_worker, resident_pass, "出差")
    assert evaluate(code, gate).reason == "suspended"
    issue.revoke(town.east_worker, resident_pass, "搬离")
    assert evaluate(code, gate).reason == "revoked"


def _fresh_key(kid: str) -> tuple[bytes, str, bytes]:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    return (
        private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw),
        kid,
        private.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()),
    )


def test_an_expiry_changed_in_the_database_wins_over_the_signed_one(
    town: Town, resident_pass: Pass
) -> None:
    Pass.objects.filter(pk=resident_pass.pk).update(valid_until=T0 + timedelta(days=1))
    assert evaluate(resident_pass.code, town.east_compound.pk, T0 + timedelta(days=2)).reason == (
        "expired"
    )


def test_quarantine_denies_at_every_gate_while_the_case_lasts_and_alerts_the_worker(
    town: Town, resident_pass: Pass, clock: time_machine.Coordinates
) -> None:
    case = quarantine(town.east_person)
    verdict = check(east_gate(town), resident_pass.code, direction="out")
    assert not verdict.allowed
    assert verdict.reason == "quarantine"
    other_gate = Gate(town.east_compound, "西门")
    assert check(other_gate, resident_pass.code).reason == "quarantine"
    alert = Alert.objects.get(kind=QUARANTINE_GATE_DENIED)
    assert alert.household == town.east_home
    assert alert.occurrences == 2
    assert alert.subject == f"household:{town.east_home.pk}"
    # The worker of the area sees it; the other community's does not.
    assert Alert.objects.visible_to(town.east_worker).filter(pk=alert.pk).exists()
    assert not Alert.objects.visible_to(town.west_worker).filter(pk=alert.pk).exists()
    # The pass itself is untouched: when the case ends, the gate opens again.
    assert Pass.objects.get(pk=resident_pass.pk).status == PassStatus.ACTIVE
    clock.shift(timedelta(days=14))
    end_quarantine(case)
    assert check(east_gate(town), resident_pass.code).allowed


def test_the_same_scan_twice_is_logged_once_with_its_first_answer(
    town: Town, resident_pass: Pass
) -> None:
    first = check(east_gate(town), resident_pass.code, scan_id="retry-0001")
    issue.revoke(town.east_worker, resident_pass, "搬离")
    again = check(east_gate(town), resident_pass.code, scan_id="retry-0001")
    assert first.allowed
    assert again.allowed
    assert Scan.objects.filter(scan_id="retry-0001").count() == 1
    with pytest.raises(ValidationError):
        check(east_gate(town), resident_pass.code, scan_id="bad id!")
    with pytest.raises(ValidationError):
        check(east_gate(town), resident_pass.code, direction="sideways")


def test_a_dynamic_code_works_in_its_window_and_not_after(
    town: Town, resident_pass: Pass, clock: time_machine.Coordinates
) -> None:
    Pass.objects.filter(pk=resident_pass.pk).update(dynamic=True)
    resident_pass.refresh_from_db()
    gate = town.east_compound.pk
    code, left = dynamic_code(resident_pass)
    assert code.startswith("SWD:")
    assert 0 < left <= 30
    assert evaluate(code, gate).allowed
    # The fixed code of a dynamic pass is refused: it is what a screenshot would show.
    assert evaluate(resident_pass.code, gate).reason == "stale"
    clock.shift(timedelta(seconds=left + 2))  # just after the window: still accepted
    assert evaluate(code, gate).allowed
    clock.shift(timedelta(seconds=10))  # replayed later
    assert evaluate(code, gate).reason == "stale"
    assert evaluate(code[:-1] + ("0" if code[-1] != "0" else "1"), gate).reason == "forged"
    assert evaluate("SWD:1.2", gate).reason == "malformed"
    assert evaluate("SWD:99999.1.0123456789abcdef", gate).reason == "not_found"
    # A new personal link ends the codes shown before it.
    fresh, _ = dynamic_code(resident_pass)
    issue.new_link(town.east_worker, resident_pass)
    assert evaluate(fresh, gate).reason == "forged"
    # A revoked dynamic pass says so, not "stale".
    resident_pass.refresh_from_db()
    fresh, _ = dynamic_code(resident_pass)
    issue.revoke(town.east_worker, resident_pass, "搬离")
    assert evaluate(fresh, gate).reason == "revoked"


def test_revocation_reaches_an_offline_verifier_at_its_next_sync(
    town: Town, resident_pass: Pass
) -> None:
    before = sync_payload(town.east_compound)
    assert before["revoked"] == []
    assert before["compound"]["id"] == town.east_compound.pk
    assert [k["kid"] for k in before["keys"]] == [resident_pass.kid]
    issue.revoke(town.east_worker, resident_pass, "搬离")
    after = sync_payload(town.east_compound)
    assert after["revoked"] == [resident_pass.pk]
    assert sync_payload(town.west_compound)["revoked"] == []


def test_suspension_and_quarantine_reach_the_offline_lists(town: Town, resident_pass: Pass) -> None:
    quarantine(town.east_person)
    payload = sync_payload(town.east_compound)
    assert payload["quarantine"] == [resident_pass.pk]
    issue.suspend(town.east_worker, resident_pass, "出差")
    payload = sync_payload(town.east_compound)
    assert payload["suspended"] == [resident_pass.pk]
    assert payload["quarantine"] == []
    assert "张" not in str(payload)  # ids only: no names leave for the gates


def test_offline_scans_are_stored_once_with_what_the_server_says(
    town: Town, resident_pass: Pass, clock: time_machine.Coordinates
) -> None:
    issue.revoke(town.east_worker, resident_pass, "搬离")
    scans = [
        {
            "scan_id": "off-0001",
            "code": resident_pass.code,
            "at": (T0 - timedelta(minutes=5)).isoformat(),
            "direction": "in",
            "allowed": True,
            "reason": "ok",
        },
        {
            "scan_id": "off-0002",
            "code": "garbage",
            "at": (T0 - timedelta(minutes=4)).isoformat(),
            "direction": "out",
            "allowed": False,
            "reason": "malformed",
        },
    ]
    assert upload(east_gate(town), scans) == {"stored": 2, "duplicates": 0}
    assert upload(east_gate(town), scans) == {"stored": 0, "duplicates": 2}
    stored = Scan.objects.get(scan_id="off-0001")
    assert stored.offline
    assert stored.allowed
    assert stored.reason == "ok"
    # The pass was revoked after the gate's last sync: the log shows it.
    assert stored.server_reason == "revoked"
    assert stored.person == town.east_person
    assert stored.at == T0 - timedelta(minutes=5)


@pytest.mark.parametrize(
    "bad",
    [
        {"scan_id": "x", "at": T0.isoformat(), "allowed": True, "reason": "ok"},
        {"scan_id": "good-0003", "at": "yesterday", "allowed": True, "reason": "ok"},
        {"scan_id": "good-0003", "at": T0.isoformat(), "allowed": "yes", "reason": "ok"},
        {"scan_id": "good-0003", "at": T0.isoformat(), "allowed": True, "reason": "vip"},
        {
            "scan_id": "good-0003",
            "at": (T0 + timedelta(hours=1)).isoformat(),
            "allowed": True,
            "reason": "ok",
        },
        "not an object",
    ],
)
def test_a_bad_scan_refuses_the_whole_upload(
    town: Town, clock: time_machine.Coordinates, bad: Any
) -> None:
    good = {"scan_id": "good-0001", "at": T0.isoformat(), "allowed": True, "reason": "ok"}
    with pytest.raises(ValidationError) as caught:
        upload(east_gate(town), [good, bad])
    assert _("scan %(n)d") % {"n": 2} in str(caught.value)  # names the bad one
    assert not Scan.objects.exists()


def test_an_offline_quarantine_denial_still_alerts(town: Town, resident_pass: Pass) -> None:
    quarantine(town.east_person)
    scan = {
        "scan_id": "off-q-001",
        "code": resident_pass.code,
        "at": T0.isoformat(),
        "allowed": False,
        "reason": "quarantine",
    }
    upload(east_gate(town), [scan])
    assert Alert.objects.filter(kind=QUARANTINE_GATE_DENIED, household=town.east_home).exists()


def test_a_visitor_gets_a_pass_for_a_few_hours(town: Town, clock: time_machine.Coordinates) -> None:
    registered = register_visitor(
        town.gate_guard,
        name="钱七",
        phone="13700001111",
        household=town.east_home,
        reason="送餐",
        pass_hours=3,
    )
    visitor = registered.visitor
    assert visitor.masked_phone == "137****1111"
    assert visitor.compound == town.east_compound
    assert registered.issued is not None
    code = registered.issued.pass_obj.code
    assert registered.issued.pass_obj.household == town.east_home
    assert evaluate(code, town.east_compound.pk).allowed
    assert evaluate(code, town.east_compound.pk, T0 + timedelta(hours=3)).reason == "expired"
    with pytest.raises(ValidationError) as caught:
        register_visitor(
            town.gate_guard, name="", phone="12", household=town.east_home, reason="", pass_hours=99
        )
    assert set(caught.value.message_dict) == {"name", "phone", "reason", "pass_hours"}


def test_the_verify_path_stays_lean(
    town: Town, resident_pass: Pass, django_assert_max_num_queries: Any
) -> None:
    check(east_gate(town), resident_pass.code)  # warm the key cache
    # The pass with its compound (1), quarantine (1), the scan in a savepoint (3).
    with django_assert_max_num_queries(5):
        assert check(east_gate(town), resident_pass.code).allowed


def test_a_case_started_reaches_a_busy_gate_within_seconds(
    town: Town, resident_pass: Pass, clock: time_machine.Coordinates
) -> None:
    gate = east_gate(town)
    assert check(gate, resident_pass.code).allowed
    quarantine(town.east_person)
    clock.shift(timedelta(seconds=SNAPSHOT_SECONDS))
    assert check(gate, resident_pass.code).reason == "quarantine"


def test_offline_verifiers_learn_which_keys_are_retired(town: Town, resident_pass: Pass) -> None:
    old = resident_pass.kid
    keys.create_signing_key(None)
    rotation.retire_signing_key(None, old)
    payload = sync_payload(town.east_compound)
    assert payload["retired_keys"] == [old]
    assert old not in [k["kid"] for k in payload["keys"]]
