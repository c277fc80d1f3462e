"""The demo's passes: seeded once, again without duplicates, with a gate key under var/."""

from __future__ import annotations

import stat

from django.test import Client

from shouwang.passes import demo
from shouwang.passes.models import GateDevice, Pass, SigningKey
from tests.conftest import Town


def test_seed_demo_is_idempotent_and_leaves_a_working_gate_key(town: Town) -> None:
    demo.seed_demo()
    assert SigningKey.objects.count() == 1
    assert set(Pass.objects.values_list("person_id", flat=True)) == {
        town.east_person.pk,
        town.west_person.pk,
    }
    path = demo.gate_key_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()

    demo.seed_demo()
    assert Pass.objects.count() == 2
    assert GateDevice.objects.count() == 1
    assert path.read_text().strip() == key

    code = Pass.objects.get(person=town.east_person).code
    turnstile = Client(headers={"authorization": f"Bearer {key}"})
    answer = turnstile.post("/api/v1/gate/verify", {"code": code}, content_type="application/json")
    assert answer.json()["allowed"] is True

    path.unlink()  # a lost key file: a new device and key, the old rows untouched
    demo.seed_demo()
    assert GateDevice.objects.count() == 2
    assert path.exists()


def test_seed_demo_without_the_demo_town_does_nothing(db: None) -> None:
    demo.seed_demo()
    assert not Pass.objects.exists()
    assert not GateDevice.objects.exists()
