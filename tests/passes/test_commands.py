"""The operator's commands for signing keys and gate devices."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shouwang.passes.models import GateDevice, KeyStatus, SigningKey
from shouwang.passes.services import gates, issue
from shouwang.passes.services.verify import evaluate
from tests.conftest import Town


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_rotate_then_retire_from_the_command_line(town: Town) -> None:
    p = issue.issue_pass(town.east_worker, town.east_person).pass_obj
    assert "new signing key" in run("pass_keys", "rotate")
    with pytest.raises(CommandError):
        run("pass_keys", "retire", "nope")
    listing = run("pass_keys", "retire", p.kid)
    assert "1 passes re-signed" in listing
    assert SigningKey.objects.filter(status=KeyStatus.RETIRED).count() == 1
    p.refresh_from_db()
    assert evaluate(p.code, town.east_compound.pk).allowed


def test_a_gate_device_key_is_printed_once(town: Town) -> None:
    out = run("gate_device", "北门", "--compound", str(town.east_compound.pk))
    key = out.split("key: ")[1].strip()
    assert gates.authenticate(key) == GateDevice.objects.get()
    assert key not in str(GateDevice.objects.values().get())
    with pytest.raises(CommandError):
        run("gate_device", "北门", "--compound", str(town.east.pk))  # a community, not a compound
