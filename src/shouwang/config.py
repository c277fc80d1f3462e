"""Configuration read from the environment, and the secrets kept under `var/`.

Everything an operator may set is an environment variable named SHOUWANG_*; the README has
the table. `settings.py` is the only reader: it reads every variable once, at start-up, into
plain settings and into one typed object per subsystem (`NotifyConfig`, `LiveBusConfig`,
`MqttConfig`); code asks `django.conf.settings`, never the environment.

Reading has no side effects: importing settings creates no folder and no file. The secrets
that are not given in the environment are read from files under SHOUWANG_VAR_DIR, which only
`init_var_dir` creates (readable by the owner only, 0600): `shouwang init-secrets` explicitly,
and `migrate`, `serve` and `demo` as they start, unless SHOUWANG_HTTPS says this is production
(`shouwang.cli`). A process without them stops at Django's system checks, saying how to create
them (`core/checks.py`). No secret ever sits in the repo or the database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def env(name: str, default: str = "", environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(f"SHOUWANG_{name}", default)


def env_flag(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name, not a key)
DATA_KEYS_FILE = "data_keys.json"


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """SHOUWANG_VAR_DIR (default ./var), resolved. Not created here: see `init_var_dir`."""
    return Path(env("VAR_DIR", "var", environ)).resolve()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def secret_key(var: Path, environ: Mapping[str, str] = os.environ) -> str:
    """Django's signing key: SHOUWANG_SECRET_KEY, else VAR_DIR/secret_key, else "" (missing)."""
    return env("SECRET_KEY", "", environ) or (_read(var / SECRET_KEY_FILE) or "").strip()


def data_keys(var: Path, environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """The field-encryption keys and the blind-index key, or None when there are none.

    Shape: {"current": 1, "encryption": {"1": <b64 256-bit>}, "index": <b64 256-bit>}.
    From SHOUWANG_DATA_KEYS (that JSON) when set, else from VAR_DIR/data_keys.json.
    """
    text = env("DATA_KEYS", "", environ) or _read(var / DATA_KEYS_FILE)
    if not text:
        return None
    keys: dict[str, Any] = json.loads(text)
    return keys


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _create_private(path: Path, text: str) -> bool:
    """Write a new file readable by the owner only; False if it exists (another process, or an
    earlier run, made it first: theirs is kept)."""
    # Create with 0600 from the start: a chmod after writing would leave a window.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def init_var_dir(var: Path, *, secret_key: bool, data_keys: bool) -> list[Path]:
    """Create VAR_DIR, its static/ folder and, as asked, the secret files that do not exist
    yet; an existing secret is never replaced. Returns the secret files created."""
    var.mkdir(parents=True, exist_ok=True)
    (var / "static").mkdir(exist_ok=True)  # WhiteNoise warns on every start if it is missing
    made = []
    if secret_key and _create_private(var / SECRET_KEY_FILE, secrets.token_urlsafe(50)):
        made.append(var / SECRET_KEY_FILE)
    new_keys = {"current": 1, "encryption": {"1": _new_key()}, "index": _new_key()}
    if data_keys and _create_private(var / DATA_KEYS_FILE, json.dumps(new_keys)):
        made.append(var / DATA_KEYS_FILE)
    return made


@dataclass(frozen=True)
class NotifyConfig:
    """Notification delivery (`alerts.notify`): SHOUWANG_BASE_URL (links in messages),
    SHOUWANG_NOTIFY_MAX_ATTEMPTS, SHOUWANG_NOTIFY_THREADS, SHOUWANG_NOTIFY_BASE_URL_OVERRIDES
    (JSON: a vendor's origin → another one, e.g. a local receiver in tests or a gateway),
    SHOUWANG_NOTIFY_TRACE_FILE (first attempts' step timings, for benches) and
    SHOUWANG_NOTIFY_FAST (first attempts at once after commit; on unless 0/false/no/off)."""

    base_url: str = "http://127.0.0.1:8000"
    max_attempts: int = 10
    threads: int = 4
    base_url_overrides: dict[str, str] = field(default_factory=dict)
    trace_file: str = ""
    fast: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> NotifyConfig:
        overrides = env("NOTIFY_BASE_URL_OVERRIDES", "", environ).strip()
        return cls(
            base_url=env("BASE_URL", cls.base_url, environ).rstrip("/"),
            max_attempts=max(1, int(env("NOTIFY_MAX_ATTEMPTS", "10", environ))),
            threads=max(1, int(env("NOTIFY_THREADS", "4", environ))),
            base_url_overrides={
                str(k).rstrip("/"): str(v).rstrip("/")
                for k, v in dict(json.loads(overrides) if overrides else {}).items()
            },
            trace_file=env("NOTIFY_TRACE_FILE", "", environ),
            fast=env("NOTIFY_FAST", "1", environ).strip().lower()
            not in ("0", "false", "no", "off"),
        )


@dataclass(frozen=True)
class LiveBusConfig:
    """The live bus between processes (`alerts.bus_backends`): Redis when SHOUWANG_REDIS_URL
    is set, else PostgreSQL's LISTEN/NOTIFY on a PostgreSQL database, else in-process only.
    SHOUWANG_LIVE_BUS_CHANNEL names another channel (two installations sharing one Redis)."""

    redis_url: str = ""
    channel: str = "shouwang_alerts"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LiveBusConfig:
        return cls(
            redis_url=env("REDIS_URL", "", environ),
            channel=env("LIVE_BUS_CHANNEL", "", environ) or cls.channel,
        )


@dataclass(frozen=True)
class MqttConfig:
    """The MQTT bridge's variables as given (SHOUWANG_MQTT_URL, _TOPICS, _CLIENT_ID,
    _SHARE_GROUP, _BATCH_MAX, _SESSION_EXPIRY, _AREA); `devices.mqtt_bridge.config` checks them and
    says what is wrong. An empty `url`: this installation talks to no broker."""

    url: str = ""
    topics: str = ""
    client_id: str = ""
    share_group: str = ""
    batch_max: str = ""
    session_expiry: str = ""
    area: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> MqttConfig:
        return cls(
            **{name: env(f"MQTT_{name.upper()}", "", environ) for name in cls.__dataclass_fields__}
        )
