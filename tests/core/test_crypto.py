"""Encryption at rest: AES-GCM per column, key rotation, blind index, no plaintext stored."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from shouwang.core import crypto
from shouwang.core.models import Person
from shouwang.core.services.people import PersonData, create_person, find_by_id_number
from tests.conftest import Town


def _keys(*versions: int, current: int) -> dict[str, object]:
    return {
        "current": current,
        "encryption": {str(v): base64.b64encode(bytes([v]) * 32).decode() for v in versions},
        "index": base64.b64encode(b"i" * 32).decode(),
    }


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    crypto.reset_key_cache()
    yield
    crypto.reset_key_cache()


def test_ciphertext_is_bound_to_its_column() -> None:
    stored = crypto.encrypt("13812345678", "core_person.phone")
    assert crypto.decrypt(stored, "core_person.phone") == "13812345678"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, "core_person.id_number")


def test_tampered_ciphertext_is_refused() -> None:
    stored = crypto.encrypt("13812345678", "core_person.phone")
    version, _, body = stored.partition("$")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{version}${base64.b64encode(bytes(raw)).decode()}", "core_person.phone")


def test_rows_are_stored_encrypted(town: Town) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, id_number_index FROM core_person")
        rows = cursor.fetchall()
    stored = " ".join(str(v) for row in rows for v in row)
    for secret in ("11010519491231002X", "13812345678", "440305199003071236", "13987654321"):
        assert secret not in stored
    assert all(row[0].startswith(("1$", "2$")) for row in rows)


@pytest.mark.usefixtures("fresh_keys")
def test_rotated_keys_read_old_rows_and_write_new_ones(town: Town) -> None:
    with override_settings(SHOUWANG_DATA_KEYS=_keys(1, current=1)):
        crypto.reset_key_cache()
        person = create_person(
            None, town.east_home, PersonData.clean("王五", "110101199003078515", "13800001111")
        )
    with override_settings(SHOUWANG_DATA_KEYS=_keys(1, 2, current=2)):
        crypto.reset_key_cache()
        old = Person.objects.get(pk=person.pk)
        assert old.phone == "13800001111"
        old.save()
        with connection.cursor() as cursor:
            cursor.execute("SELECT phone FROM core_person WHERE id = %s", [person.pk])
            (stored,) = cursor.fetchone()
        assert crypto.key_version(stored) == "2"
    with override_settings(SHOUWANG_DATA_KEYS=_keys(2, current=2)):
        crypto.reset_key_cache()
        assert Person.objects.get(pk=person.pk).phone == "13800001111"


def test_person_is_found_by_id_number_without_decrypting(town: Town) -> None:
    assert find_by_id_number(None, "11010519491231002x") == town.east_person
    assert find_by_id_number(town.west_worker, "11010519491231002X") is None
    assert find_by_id_number(None, "not an id") is None


def test_encrypted_columns_refuse_equality_lookups(town: Town) -> None:
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(Person.objects.filter(phone="13812345678"))


@pytest.mark.slow
def test_demo_sqlite_file_holds_no_plaintext_id_or_phone(tmp_path: Path) -> None:
    """Seed the demo into a real SQLite file and read its bytes, as an attacker would."""
    env = {k: v for k, v in os.environ.items() if k != "SHOUWANG_DATABASE_URL"}
    env["SHOUWANG_VAR_DIR"] = str(tmp_path)
    run = [sys.executable, "-m", "shouwang"]
    subprocess.run([*run, "demo", "--seed-only"], env=env, check=True, capture_output=True)
    dump = subprocess.run(
        [
            *run,
            "shell",
            "-c",
            "import json; from shouwang.core.models import Person; "
            "print(json.dumps([[p.name, p.id_number, p.phone] for p in Person.objects.all()]))",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    people = json.loads(dump.stdout.strip().splitlines()[-1])
    assert len(people) > 300
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("shouwang.sqlite3*"))
    # The scan can see text: names are stored in clear (they are searched), so they show up.
    assert sum(name.encode() in raw for name, _, _ in people) > len(people) // 2
    leaked = [v for _, id_number, phone in people for v in (id_number, phone) if v.encode() in raw]
    assert leaked == []
    assert (tmp_path / "data_keys.json").stat().st_mode & 0o077 == 0


@pytest.mark.slow
@pytest.mark.django_db
def test_no_table_holds_plaintext_of_seeded_residents(settings: Any, tmp_path: Path) -> None:
    """Every column of every table, read raw (SQLite or PostgreSQL, whichever runs)."""
    from django.apps import apps

    from shouwang.core.demo import seed_demo_town

    settings.VAR_DIR = tmp_path  # the demo writes its ingest key there

    seed_demo_town()
    secrets = {v for p in Person.objects.all() for v in (p.id_number, p.phone) if v}
    assert len(secrets) > 400
    tables = {m._meta.db_table for m in apps.get_models()}
    dumped = []
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dumped.extend(str(v) for row in cursor.fetchall() for v in row)
    text = "\n".join(dumped)
    assert [s for s in secrets if s in text] == []


@pytest.mark.usefixtures("fresh_keys")
def test_reencrypt_moves_every_value_to_the_current_key(town: Town, settings: Any) -> None:
    from django.core.management import call_command

    from shouwang.core.models import AuditLog
    from shouwang.core.services.reencrypt import encrypted_columns

    for n in range(5):
        create_person(None, town.east_home, PersonData.clean(f"王{n}", None, f"1380000{n:04d}"))
    assert any(c.context == "core_person.phone" for c in encrypted_columns())
    old = settings.SHOUWANG_DATA_KEYS
    new_key = base64.b64encode(b"n" * 32).decode()
    rotated = {**old, "encryption": {**old["encryption"], "99": new_key}, "current": 99}
    with override_settings(SHOUWANG_DATA_KEYS=rotated):
        crypto.reset_key_cache()
        out = _call(call_command, "reencrypt", "--batch", "2")
        assert "core_person.phone: 7" in out  # the town's two residents and these five
        with connection.cursor() as cursor:
            cursor.execute("SELECT phone, id_number FROM core_person")
            versions = {crypto.key_version(v) for row in cursor.fetchall() for v in row if v}
        assert versions == {"99"}
        entry = AuditLog.objects.get(action="crypto.reencrypt", details__column="core_person.phone")
        assert entry.source == "cli"
        assert entry.details["rows"] == 7
        # A second run finds nothing left to do.
        assert "re-encrypted 0 values" in _call(call_command, "reencrypt")
    # The old key can go now.
    with override_settings(SHOUWANG_DATA_KEYS={**rotated, "encryption": {"99": new_key}}):
        crypto.reset_key_cache()
        phones = sorted(p.phone or "" for p in Person.objects.filter(name__startswith="王"))
        assert phones == [f"1380000{n:04d}" for n in range(5)]
        assert Person.objects.get(pk=town.east_person.pk).id_number == "11010519491231002X"


def _call(call_command: Any, *args: str) -> str:
    import io

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
