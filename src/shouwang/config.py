"""Configuration read from the environment, and the secrets kept under `var/`.

Everything an operator may set is an environment variable named SHOUWANG_*; the README has
the table. `settings.py` is the only reader: it reads every variable once, at start-up, into
plain settings and into one typed object per subsystem (`NotifyConfig`, `LiveBusConfig`,
`MqttConfig`); code asks `django.conf.settings`, never the environment. Secrets that are not
given are generated on first run into files readable only by the owner (0600), so a fresh
checkout works and no secret ever sits in the repo or the database.
"""

from __future__ import annotations

import base64
import contextlib
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
    _SHARE_GROUP, _BATCH_MAX, _SESSION_EXPIRY); `devices.mqtt_bridge.config` checks them and
    says what is wrong. An empty `url`: this installation talks to no broker."""

    url: str = ""
    topics: str = ""
    client_id: str = ""
    share_group: str = ""
    batch_max: str = ""
    session_expiry: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> MqttConfig:
        return cls(
            **{name: env(f"MQTT_{name.upper()}", "", environ) for name in cls.__dataclass_fields__}
        )
