"""Vendor adapters: one module per message format, each exposing a module-level `adapter`.

`ADAPTERS` maps the name used in URLs and configuration (`POST /api/v1/ingest/<name>`) to the
adapter object. An adapter offers `decode_mqtt` (MqttAdapter), `decode_http` (HttpAdapter) or
both; see base.py for the contract.
"""

from __future__ import annotations

from shouwang.devices.adapters import chirpstack, ctwing, generic, onenet, zigbee2mqtt
from shouwang.devices.adapters.base import (
    DecodeError,
    HttpAdapter,
    MqttAdapter,
    Reading,
    SignatureError,
)

ADAPTERS: dict[str, object] = {
    module.adapter.name: module.adapter
    for module in (zigbee2mqtt, chirpstack, ctwing, onenet, generic)
}


def get_adapter(name: str) -> object:
    """The adapter registered under `name`; KeyError (naming the known ones) if there is none."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise KeyError(f"unknown adapter {name!r}; known adapters: {known}") from None


__all__ = [
    "ADAPTERS",
    "DecodeError",
    "HttpAdapter",
    "MqttAdapter",
    "Reading",
    "SignatureError",
    "get_adapter",
]
