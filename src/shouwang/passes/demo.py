"""The demo town's passes: a signing key, a pass for every resident, and one gate device whose
key is kept (0600) under var/ so the person running the demo can point a turnstile at it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings

from shouwang.core.demo import TOWN_NAME, DemoTown, write_private
from shouwang.core.models import Area, AreaKind
from shouwang.devices.services.keys import hash_key
from shouwang.passes.models import GateDevice
from shouwang.passes.services import gates, issue, keys

GATE_NAME = "东门闸机"
GATE_KEY_FILE = "demo_gate_key"


def gate_key_file() -> Path:
    return Path(settings.VAR_DIR) / GATE_KEY_FILE


def demo_part(town: DemoTown) -> None:
    """Registered with `core.demo` in `PassesConfig.ready()`."""
    seed_demo()
    town.gate_key_file = gate_key_file()


def seed_demo() -> None:
    """Idempotent: a second run issues passes only to residents added since, and keeps the key
    file if it still matches an active gate device."""
    street = Area.objects.filter(name=TOWN_NAME, kind=AreaKind.STREET).first()
    if street is None:
        return
    keys.current_signer()  # creates the first signing key when there is none
    compounds = list(
        Area.objects.filter(path__startswith=street.path, kind=AreaKind.COMPOUND).order_by("path")
    )
    for compound in compounds:
        issue.issue_for_compound(None, compound)
    if not compounds:
        return
    path = gate_key_file()
    with contextlib.suppress(OSError):
        plaintext = path.read_text(encoding="utf-8").strip()
        if GateDevice.objects.filter(key_hash=hash_key(plaintext), active=True).exists():
            return
    _, plaintext = gates.create_gate_device(None, GATE_NAME, compounds[0])
    write_private(path, plaintext)
