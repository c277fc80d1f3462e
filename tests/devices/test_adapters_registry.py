"""The adapter registry, and the no-exception-but-DecodeError contract across all adapters."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouwang.devices.adapters import ADAPTERS, DecodeError, get_adapter


def test_every_format_is_registered_under_its_name() -> None:
    assert sorted(ADAPTERS) == ["chirpstack", "ctwing", "generic", "onenet", "zigbee2mqtt"]
    for name, adapter in ADAPTERS.items():
        assert getattr(adapter, "name") == name  # noqa: B009 - ADAPTERS values are typed object
        assert get_adapter(name) is adapter


def test_transports() -> None:
    mqtt = {name for name, adapter in ADAPTERS.items() if hasattr(adapter, "decode_mqtt")}
    http = {name for name, adapter in ADAPTERS.items() if hasattr(adapter, "decode_http")}
    assert mqtt == {"zigbee2mqtt", "chirpstack", "generic"}
    assert http == {"ctwing", "onenet", "generic"}


def test_unknown_adapter() -> None:
    with pytest.raises(KeyError, match="known adapters"):
        get_adapter("tuya")


@settings(max_examples=300, deadline=None)
@given(
    topic=st.text(max_size=60),
    payload=st.binary(max_size=300),
    token=st.text(max_size=12),
)
def test_no_adapter_raises_anything_but_decode_error(
    topic: str, payload: bytes, token: str
) -> None:
    for adapter in ADAPTERS.values():
        decode_mqtt = getattr(adapter, "decode_mqtt", None)
        if decode_mqtt is not None:
            with contextlib.suppress(DecodeError):
                decode_mqtt(topic, payload)
        decode_http = getattr(adapter, "decode_http", None)
        if decode_http is not None:
            with contextlib.suppress(DecodeError):
                decode_http(payload, {}, {"token": token})
