"""Configuration read from the environment, and the secrets kept under `var/`.

Everything an operator may set is an environment variable named SHOUWANG_*; the README has the
table. Secrets that are not given are generated on first run into files readable only by the
owner (0600), so a fresh checkout works and no secret ever sits in the repo or the database.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"SHOUWANG_{name}", default)


def env_flag(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def var_dir() -> Path:
    path = Path(env("VAR_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_private(path: Path, text: str) -> None:
    # Create with 0600 from the start: a chmod after writing would leave a window.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read_or_create(path: Path, make: Any) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    # Another process may have created it first: then read theirs.
    with contextlib.suppress(FileExistsError):
        _write_private(path, make())
    return path.read_text(encoding="utf-8")


def secret_key() -> str:
    given = env("SECRET_KEY")
    if given:
        return given
    return _read_or_create(var_dir() / "secret_key", lambda: secrets.token_urlsafe(50)).strip()


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def data_keys() -> dict[str, Any]:
    """The field-encryption keys and the blind-index key.

    Shape: {"current": 1, "encryption": {"1": <b64 256-bit>}, "index": <b64 256-bit>}.
    From SHOUWANG_DATA_KEYS (that JSON) when set, else from var/data_keys.json.
    """
    given = env("DATA_KEYS")
    if given:
        text = given
    else:
        text = _read_or_create(
            var_dir() / "data_keys.json",
            lambda: json.dumps(
                {"current": 1, "encryption": {"1": _new_key()}, "index": _new_key()}
            ),
        )
    keys: dict[str, Any] = json.loads(text)
    return keys
