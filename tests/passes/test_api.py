"""The gate API, as a turnstile (its own key) and as the guard's page (logged in) use it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import segno
import time_machine
from django.test import Client
from django.utils import translation

from shouwang.core.models import AuditLog
from shouwang.passes.models import Pass, Scan
from shouwang.passes.services import gates, issue
from tests.conftest import Town, login
from tests.passes.conftest import T0

URL = "/api/v1/gate/"


@pytest.fixture
def resident_pass(town: Town, clock: time_machine.Coordinates) -> Pass:
    return issue.issue_pass(town.east_worker, town.east_person).pass_obj


@pytest.fixture
def turnstile(town: Town) -> Client:
    _, key = gates.create_gate_device(town.admin, "东门闸机", town.east_compound)
    return Client(headers={"authorization": f"Bearer {key}"})


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(URL + path, json.dumps(body), content_type="application/json")


def test_a_turnstile_verifies_with_its_key(
    town: Town, resident_pass: Pass, turnstile: Client
) -> None:
    answer = post(turnstile, "verify", {"code": resident_pass.code, "scan_id": "t-00000001"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["allowed"] is True
    assert body["name"] == "张*明"
    assert body["scan_id"] == "t-00000001"
    scan = Scan.objects.get()
    assert scan.device is not None
    assert scan.gate == "东门闸机"
    assert scan.compound == town.east_compound
    assert "no-store" in answer["Cache-Control"]
    assert AuditLog.objects.filter(action="gate_device.create").exists()


def test_a_denial_says_why(town: Town, resident_pass: Pass, turnstile: Client) -> None:
    issue.revoke(town.east_worker, resident_pass, "搬离")
    body = post(turnstile, "verify", {"code": resident_pass.code}).json()
    assert body["allowed"] is False
    assert body["reason"] == "revoked"
    assert body["reason_label"]
    assert post(turnstile, "verify", {"code": "nonsense"}).json()["reason"] == "malformed"
    bad = post(turnstile, "verify", {"code": resident_pass.code, "direction": "up"})
    assert bad.status_code == 422


def test_no_key_or_a_wrong_or_deactivated_key_is_refused(town: Town, resident_pass: Pass) -> None:
    assert post(Client(), "verify", {"code": resident_pass.code}).status_code == 401
    wrong = Client(headers={"authorization": "Bearer swg_not-a-key"})
    assert post(wrong, "verify", {"code": resident_pass.code}).status_code == 401
    device, key = gates.create_gate_device(None, "北门", town.east_compound)
    gates.deactivate(None, device)
    old = Client(headers={"authorization": f"Bearer {key}"})
    assert post(old, "verify", {"code": resident_pass.code}).status_code == 401
    assert not Scan.objects.exists()


def test_sync_gives_keys_and_lists_and_records_the_sync(
    town: Town, resident_pass: Pass, turnstile: Client
) -> None:
    issue.suspend(town.east_worker, resident_pass, "出差")
    body = turnstile.get(URL + "sync").json()
    assert body["suspended"] == [resident_pass.pk]
    assert body["keys"][0]["kid"] == resident_pass.kid
    assert body["prefix"] == "SW1:"
    assert Pass.objects.count() == 1
    from shouwang.passes.models import GateDevice

    assert GateDevice.objects.get().last_synced_at is not None


def test_upload_is_idempotent_and_refuses_bad_batches(
    town: Town, resident_pass: Pass, turnstile: Client
) -> None:
    scan = {
        "scan_id": "queued-0001",
        "code": resident_pass.code,
        "at": (T0 - timedelta(minutes=3)).isoformat(),
        "allowed": True,
        "reason": "ok",
        "direction": "out",
    }
    assert post(turnstile, "scans", {"scans": [scan]}).json() == {"stored": 1, "duplicates": 0}
    assert post(turnstile, "scans", {"scans": [scan]}).json() == {"stored": 0, "duplicates": 1}
    broken = post(turnstile, "scans", {"scans": [{**scan, "scan_id": "queued-0002"}, {}]})
    assert broken.status_code == 422
    with translation.override("zh-hans"):  # the API speaks the platform's language
        bad_one = translation.gettext("scan %(n)d") % {"n": 2}
    assert broken.json()["detail"]["scans"][0].startswith(bad_one)
    assert Scan.objects.count() == 1


def test_the_guard_page_uses_its_session_and_its_compound(town: Town, resident_pass: Pass) -> None:
    guard = login(town.gate_guard)
    ok = post(guard, "verify", {"code": resident_pass.code, "compound_id": town.east_compound.pk})
    assert ok.json()["allowed"] is True
    assert Scan.objects.get().guard == town.gate_guard
    # Another compound than the guard's: not found, nothing logged.
    out = post(guard, "verify", {"code": resident_pass.code, "compound_id": town.west_compound.pk})
    assert out.status_code == 404
    assert guard.get(URL + f"sync?compound_id={town.west_compound.pk}").status_code == 404
    # A role without gate work.
    patrol = login(town.east_worker)
    denied = post(patrol, "verify", {"code": "x", "compound_id": town.east_compound.pk})
    assert denied.status_code == 403
    assert Scan.objects.count() == 1


def test_a_photo_of_the_code_is_read_on_the_server(
    town: Town, resident_pass: Pass, turnstile: Client
) -> None:
    image = io.BytesIO()
    segno.make_qr(resident_pass.code, error="m").save(image, kind="ppm", scale=3, border=4)
    image.seek(0)
    image.name = "pass.ppm"
    answer = turnstile.post(URL + "photo", {"image": image, "direction": "in"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["allowed"] is True
    assert Scan.objects.get().method == "photo"
    blank = io.BytesIO(b"P5 4 4 255\n" + b"\xff" * 16)
    blank.name = "blank.pgm"
    answer = turnstile.post(URL + "photo", {"image": blank})
    assert answer.status_code == 422
    assert "no QR code" in answer.json()["detail"]
    junk = io.BytesIO(b"\x89PNG not really")
    junk.name = "x.png"
    assert turnstile.post(URL + "photo", {"image": junk}).status_code == 422


def test_a_phone_photo_as_jpeg_is_read_too(
    town: Town, resident_pass: Pass, turnstile: Client
) -> None:
    from PIL import Image

    qr = io.BytesIO()
    segno.make_qr(resident_pass.code, error="m").save(qr, kind="png", scale=6, border=4)
    qr.seek(0)
    # The code on a phone screen, photographed a little askew on a grey desk.
    screen = Image.open(qr).convert("L").rotate(7, expand=True, fillcolor=255)
    desk = Image.new("L", (screen.width + 300, screen.height + 200), 120)
    desk.paste(screen, (140, 90))
    photo = io.BytesIO()
    desk.save(photo, format="JPEG", quality=70)
    photo.seek(0)
    photo.name = "IMG_0001.jpg"

    answer = turnstile.post(URL + "photo", {"image": photo, "direction": "in"})

    assert answer.status_code == 200, answer.content
    assert answer.json()["allowed"] is True
    # A file that claims a canvas far beyond any camera is refused before it is decoded.
    bomb = io.BytesIO()
    Image.new("1", (5000, 5000)).save(bomb, format="PNG")
    bomb.seek(0)
    bomb.name = "bomb.png"
    refused = turnstile.post(URL + "photo", {"image": bomb})
    assert refused.status_code == 422
    assert "too large" in refused.json()["detail"]


def test_verify_needs_few_queries(
    town: Town, resident_pass: Pass, turnstile: Client, django_assert_max_num_queries: Any
) -> None:
    post(turnstile, "verify", {"code": resident_pass.code})  # warm the caches
    with django_assert_max_num_queries(5):
        assert post(turnstile, "verify", {"code": resident_pass.code}).json()["allowed"]
