"""Configuration is read once and reading has no side effects: the secrets are created by an
explicit step (`shouwang init-secrets`, or `migrate`/`serve`/`demo` starting on a laptop), and a
production process without them stops saying what to run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import get_commands

from shouwang import cli, config
from shouwang.core import checks, crypto

SECRETS = ("secret_key", "data_keys.json")


def _env(var: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    return (
        env | {"SHOUWANG_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "shouwang.settings"} | extra
    )


def _shouwang(var: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shouwang", *args],
        env=_env(var, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_importing_settings_creates_nothing(tmp_path: Path) -> None:
    empty, absent = tmp_path / "empty", tmp_path / "absent"
    empty.mkdir()
    read = (
        "import json, shouwang.settings as s; "
        "print(json.dumps([s.SECRET_KEY, s.SHOUWANG_DATA_KEYS, str(s.VAR_DIR)]))"
    )
    for var in (empty, absent):
        done = subprocess.run(
            [sys.executable, "-c", read], env=_env(var), capture_output=True, text=True, check=True
        )
        assert json.loads(done.stdout) == ["", None, str(var)]
    assert list(empty.iterdir()) == []
    assert not absent.exists()


def test_init_secrets_creates_them_once_private_and_keeps_them(tmp_path: Path) -> None:
    first = _shouwang(tmp_path, "init-secrets")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == 2
    assert all(_private(tmp_path / name) for name in SECRETS)
    before = {name: (tmp_path / name).read_text() for name in SECRETS}
    keys = json.loads(before["data_keys.json"])
    assert set(keys) == {"current", "encryption", "index"}
    again = _shouwang(tmp_path, "init-secrets")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("kept") == 2
    assert {name: (tmp_path / name).read_text() for name in SECRETS} == before


def test_init_secrets_writes_no_file_for_a_secret_given_in_the_environment(
    tmp_path: Path,
) -> None:
    done = _shouwang(tmp_path, "init-secrets", SHOUWANG_SECRET_KEY="k" * 50)
    assert done.returncode == 0, done.stderr
    assert "given in SHOUWANG_SECRET_KEY" in done.stdout
    assert (tmp_path / "data_keys.json").exists()
    assert not (tmp_path / "secret_key").exists()


def test_a_production_process_without_secrets_stops_and_says_what_to_run(
    tmp_path: Path,
) -> None:
    production = {"SHOUWANG_HTTPS": "1"}
    refused = _shouwang(tmp_path, "migrate", **production)
    assert refused.returncode != 0
    assert "shouwang.E001" in refused.stderr
    assert "shouwang.E002" in refused.stderr
    assert "shouwang init-secrets" in refused.stderr
    assert not any((tmp_path / name).exists() for name in SECRETS)  # nothing made up
    assert _shouwang(tmp_path, "init-secrets", **production).returncode == 0
    checked = _shouwang(tmp_path, "check", **production)
    assert checked.returncode == 0, checked.stderr


def test_laptop_start_up_creates_the_secrets_other_commands_only_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_KEY", "DATA_KEYS", "HTTPS"):
        monkeypatch.delenv(f"SHOUWANG_{name}", raising=False)
    for command in ("shell", "ingest", "worker", "check"):
        monkeypatch.setenv("SHOUWANG_VAR_DIR", str(tmp_path / command))
        cli.set_up(command)
        assert sorted(p.name for p in (tmp_path / command).iterdir()) == ["static"]
    for command in ("migrate", "serve", "demo"):
        monkeypatch.setenv("SHOUWANG_VAR_DIR", str(tmp_path / command))
        cli.set_up(command)
        assert all(_private(tmp_path / command / name) for name in SECRETS)
    monkeypatch.setenv("SHOUWANG_HTTPS", "1")
    monkeypatch.setenv("SHOUWANG_VAR_DIR", str(tmp_path / "production"))
    cli.set_up("serve")
    assert not any((tmp_path / "production" / name).exists() for name in SECRETS)


def test_an_existing_secret_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("mine")
    made = config.init_var_dir(tmp_path, secret_key=True, data_keys=True)
    assert made == [tmp_path / "data_keys.json"]
    assert config.secret_key(tmp_path, {}) == "mine"
    assert config.secret_key(tmp_path, {"SHOUWANG_SECRET_KEY": "given"}) == "given"


def test_missing_secrets_fail_the_checks_and_encryption(settings: Any) -> None:
    assert checks.secrets_present(None) == []
    settings.SECRET_KEY = ""
    settings.SHOUWANG_DATA_KEYS = None
    crypto.reset_key_cache()
    try:
        assert [e.id for e in checks.secrets_present(None)] == ["shouwang.E001", "shouwang.E002"]
        with pytest.raises(ImproperlyConfigured, match="init-secrets"):
            crypto.encrypt("13812345678", "core_person.phone")
    finally:
        crypto.reset_key_cache()


def test_every_process_entry_point_is_the_runtime_apps() -> None:
    commands = get_commands()
    assert {
        name: commands[name] for name in ("serve", "worker", "ingest", "demo", "init_secrets")
    } == dict.fromkeys(("serve", "worker", "ingest", "demo", "init_secrets"), "shouwang.runtime")
