"""A visitor to a household under home quarantine: refused at the gate until a worker approves
the visit with a reason; the approval is audited and shown at the gate. The gate judges at scan
time, so a case started after the pass was handed out stops the visit too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shouwang.core.models import AuditLog
from shouwang.passes.models import Reason, Scan, Visitor
from shouwang.passes.services.verify import Gate, check, evaluate, sync_payload
from shouwang.passes.services.visitors import approve_visit, register_visitor
from tests.conftest import Town, login
from tests.passes.conftest import T0, quarantine


def _visit(town: Town, hours: int = 4) -> tuple[Visitor, str]:
    registered = register_visitor(
        town.gate_guard,
        name="钱七",
        phone="13700001111",
        household=town.east_home,
        reason="探亲",
        pass_hours=hours,
    )
    assert registered.issued is not None
    return registered.visitor, registered.issued.pass_obj.code


def test_a_visit_to_a_quarantined_household_is_refused_until_approved(
    town: Town, clock: time_machine.Coordinates
) -> None:
    quarantine(town.east_person, town.east_worker)
    registered = register_visitor(
        town.gate_guard,
        name="钱七",
        phone="13700001111",
        household=town.east_home,
        reason="送药",
        pass_hours=4,
    )
    assert registered.needs_approval
    assert registered.issued is not None
    code = registered.issued.pass_obj.code
    gate = Gate(town.east_compound, "东门", guard=town.gate_guard)
    refused = check(gate, code)
    assert (refused.allowed, refused.reason) == (False, Reason.QUARANTINE_VISIT)
    assert refused.approval == ""
    # The guard may register visitors but not let them in to a quarantined home.
    with pytest.raises(PermissionDenied):
        approve_visit(town.gate_guard, registered.visitor, "medical")
    # Nor may a worker of another community (its existence does not leak).
    with pytest.raises(Http404):
        approve_visit(town.west_worker, registered.visitor, "medical")
    with pytest.raises(ValidationError) as unknown:
        approve_visit(town.east_worker, registered.visitor, "because")
    assert "reason" in unknown.value.message_dict
    with pytest.raises(ValidationError) as bare_other:
        approve_visit(town.east_worker, registered.visitor, "other", "  ")
    assert "note" in bare_other.value.message_dict

    clock.shift(timedelta(minutes=10))
    approve_visit(town.east_worker, registered.visitor, "medical", "社区医生上门采样")
    let_in = check(gate, code)
    assert (let_in.allowed, let_in.reason) == (True, Reason.APPROVED_VISIT)
    assert "医护人员" in let_in.approval or "Medical staff" in let_in.approval
    assert "社区医生上门采样" in let_in.approval
    assert str(town.east_worker) in let_in.approval
    assert let_in.as_dict()["approval"] == let_in.approval
    # A replay of a scan from before the approval is still judged as it was then.
    assert evaluate(code, town.east_compound.pk, T0 + timedelta(minutes=5)).reason == (
        Reason.QUARANTINE_VISIT
    )
    audit = AuditLog.objects.get(action="visitor.approve")
    assert audit.actor == town.east_worker
    assert audit.details["reason"] == "medical"
    with pytest.raises(ValidationError):  # twice
        approve_visit(town.east_worker, registered.visitor, "delivery")
    assert list(Scan.objects.order_by("at").values_list("allowed", "reason")) == [
        (False, "quarantine_visit"),
        (True, "approved_visit"),
    ]


def test_a_case_started_after_the_pass_was_issued_stops_the_visit(
    town: Town, clock: time_machine.Coordinates
) -> None:
    visitor, code = _visit(town)
    assert evaluate(code, town.east_compound.pk).reason == Reason.OK
    clock.shift(timedelta(minutes=30))
    quarantine(town.east_person, town.east_worker)
    verdict = evaluate(code, town.east_compound.pk)
    assert (verdict.allowed, verdict.reason) == (False, Reason.QUARANTINE_VISIT)
    # Offline gates learn it at their next sync; an approval takes it off the list.
    assert sync_payload(town.east_compound)["quarantine_visits"] == [visitor.pass_issued.pk]
    approve_visit(town.east_worker, visitor, "delivery")
    assert sync_payload(town.east_compound)["quarantine_visits"] == []


def test_a_visit_elsewhere_is_not_affected(town: Town, clock: time_machine.Coordinates) -> None:
    quarantine(town.west_person, town.west_worker)
    _visitor, code = _visit(town)
    assert evaluate(code, town.east_compound.pk).reason == Reason.OK


def test_the_worker_approves_on_the_visitor_list_and_the_guard_sees_it(
    town: Town, clock: time_machine.Coordinates
) -> None:
    quarantine(town.east_person, town.east_worker)
    guard = login(town.gate_guard)
    page = guard.post(
        "/gate/visitors/",
        {
            "name": "钱七",
            "phone": "13700001111",
            "household": town.east_home.pk,
            "reason": "送餐",
            "pass_hours": 2,
        },
    ).content.decode()
    assert 'data-testid="visit-waiting"' in page
    assert "东风花园 3号楼 2单元501" in page
    visitor = Visitor.objects.get()
    listed = guard.get("/gate/visitors/").content.decode()
    assert 'data-testid="visit-waiting"' in listed
    assert 'data-testid="approve-visit"' not in listed  # a guard cannot approve
    assert guard.get(f"/gate/visitors/{visitor.pk}/approve/").status_code == 403
    assert login(town.west_worker).get(f"/gate/visitors/{visitor.pk}/approve/").status_code == 404

    worker = login(town.east_worker)
    assert 'data-testid="approve-visit"' in worker.get("/gate/visitors/").content.decode()
    refused = worker.post(f"/gate/visitors/{visitor.pk}/approve/", {"reason": "other"})
    assert refused.status_code == 422
    done = worker.post(
        f"/gate/visitors/{visitor.pk}/approve/", {"reason": "delivery", "note": "送到门口"}
    )
    assert done.status_code == 302
    listed = guard.get("/gate/visitors/").content.decode()
    assert 'data-testid="visit-waiting"' not in listed
    assert 'data-testid="visit-approved"' in listed
    assert "送到门口" in listed


def test_an_offline_gate_learns_the_approval_with_its_text(
    town: Town, clock: time_machine.Coordinates
) -> None:
    """The sync carries an approved visit with the words the online gate shows, so a gate
    without network shows who approved it and why (tests/browser/test_gate.py shows it)."""
    quarantine(town.east_person, town.east_worker)
    visitor, code = _visit(town)
    pass_id = str(visitor.pass_issued.pk)
    before = sync_payload(town.east_compound)
    assert before["approved_visits"] == {}
    assert before["quarantine_visits"] == [visitor.pass_issued.pk]
    clock.shift(timedelta(minutes=5))
    approve_visit(town.east_worker, visitor, "medical", "社区医生上门采样")
    after = sync_payload(town.east_compound)
    assert after["quarantine_visits"] == []
    online = check(Gate(town.east_compound, "东门", guard=town.gate_guard), code)
    assert after["approved_visits"] == {pass_id: online.approval}
    assert "社区医生上门采样" in online.approval
    assert str(town.east_worker) in online.approval
    # Another compound's gates hear nothing of it.
    assert sync_payload(town.west_compound)["approved_visits"] == {}
    # Seen from before the case began, the visit was an ordinary one: nothing to show.
    assert sync_payload(town.east_compound, T0 - timedelta(days=2))["approved_visits"] == {}
