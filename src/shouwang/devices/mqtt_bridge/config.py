"""The bridge's configuration: SHOUWANG_MQTT_* (read once into `settings.MQTT`, a
`config.MqttConfig`) checked into `BridgeSettings`.

SHOUWANG_MQTT_URL, SHOUWANG_MQTT_TOPICS (adapter=filter pairs), SHOUWANG_MQTT_CLIENT_ID,
SHOUWANG_MQTT_SHARE_GROUP, SHOUWANG_MQTT_BATCH_MAX, SHOUWANG_MQTT_SESSION_EXPIRY,
SHOUWANG_MQTT_AREA (README).
Every mistake is an ImproperlyConfigured that says what is wrong, before anything connects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shouwang.config import MqttConfig
from shouwang.devices.adapters import ADAPTERS, MqttAdapter
from shouwang.devices.adapters.zigbee2mqtt import Zigbee2MqttAdapter

DEFAULT_TOPICS = (
    "zigbee2mqtt=zigbee2mqtt/#,chirpstack=application/+/device/+/event/+,generic=shouwang/generic/#"
)
DEFAULT_CLIENT_ID = "shouwang-ingest"
DEFAULT_BATCH_MAX = 500
DEFAULT_SESSION_EXPIRY = 24 * 3600


@dataclass(frozen=True)
class Route:
    """Messages matching `topic_filter` are decoded by `adapter`."""

    adapter_name: str
    topic_filter: str
    adapter: MqttAdapter

    def matches(self, topic: str) -> bool:
        return paho.topic_matches_sub(self.topic_filter, topic)


@dataclass(frozen=True)
class BridgeSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    routes: tuple[Route, ...] = ()
    client_id: str = DEFAULT_CLIENT_ID
    share_group: str = ""
    batch_max: int = DEFAULT_BATCH_MAX
    # How long the broker keeps our session (subscriptions and queued messages) while we are away.
    session_expiry: int = DEFAULT_SESSION_EXPIRY
    # The area this broker's gateways serve (SHOUWANG_MQTT_AREA): new devices are placed there,
    # and dead letters of devices not yet known are attributed to it. None: platform-wide.
    area_id: int | None = None
    keepalive: int = 30
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0
    retry_initial: float = 0.5
    retry_max: float = 30.0

    @classmethod
    def from_env(cls, given: MqttConfig | None = None) -> BridgeSettings:
        """From `settings.MQTT` (or the given variables), every mistake explained."""
        given = given or _mqtt()
        url = given.url
        if not url:
            raise ImproperlyConfigured(
                "SHOUWANG_MQTT_URL is not set; e.g. mqtt://127.0.0.1:1883 or "
                "mqtts://user:password@broker.example:8883"
            )
        return replace(
            parse_url(url),
            routes=parse_topics(given.topics or DEFAULT_TOPICS),
            client_id=_client_id(given.client_id or DEFAULT_CLIENT_ID),
            share_group=_share_group(given.share_group),
            batch_max=_positive_int("MQTT_BATCH_MAX", given.batch_max, DEFAULT_BATCH_MAX),
            session_expiry=_positive_int(
                "MQTT_SESSION_EXPIRY", given.session_expiry, DEFAULT_SESSION_EXPIRY
            ),
            area_id=_positive_int("MQTT_AREA", given.area, 0) or None,
        )

    def subscriptions(self) -> list[str]:
        prefix = f"$share/{self.share_group}/" if self.share_group else ""
        return [prefix + route.topic_filter for route in self.routes]

    def describe(self) -> str:
        """Where we connect, for logs: never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port} as {self.client_id!r}"


def _mqtt() -> MqttConfig:
    given: MqttConfig = settings.MQTT
    return given


def configured() -> bool:
    """Whether this installation talks to a broker at all (SHOUWANG_MQTT_URL is set)."""
    return bool(_mqtt().url)


def parse_url(url: str) -> BridgeSettings:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ImproperlyConfigured(
            f"SHOUWANG_MQTT_URL must start with mqtt:// or mqtts://, got {parts.scheme!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("SHOUWANG_MQTT_URL has an invalid port") from None
    if not parts.hostname:
        raise ImproperlyConfigured("SHOUWANG_MQTT_URL names no host")
    tls = parts.scheme == "mqtts"
    return BridgeSettings(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


def parse_topics(text: str) -> tuple[Route, ...]:
    routes: list[Route] = []
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        name, sep, topic_filter = (s.strip() for s in pair.partition("="))
        if not sep or not name or not topic_filter:
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {pair!r} is not adapter=filter (e.g. generic=shouwang/#)"
            )
        adapter = ADAPTERS.get(name)
        if adapter is None:
            known = ", ".join(sorted(n for n, a in ADAPTERS.items() if hasattr(a, "decode_mqtt")))
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: unknown adapter {name!r}; MQTT adapters: {known}"
            )
        if not hasattr(adapter, "decode_mqtt"):
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {name!r} messages arrive over HTTP, not MQTT"
            )
        _check_filter(topic_filter)
        routes.append(Route(name, topic_filter, _adapter_for(name, adapter, topic_filter)))
    if not routes:
        raise ImproperlyConfigured("SHOUWANG_MQTT_TOPICS names no topics")
    return tuple(routes)


def _adapter_for(name: str, adapter: Any, topic_filter: str) -> MqttAdapter:
    # Zigbee2MQTT's base topic is a setting of each gateway: `home/z2m/#` means base `home/z2m`.
    if isinstance(adapter, Zigbee2MqttAdapter) and topic_filter.endswith("/#"):
        base = topic_filter[: -len("/#")]
        wildcards = "+" in base or "#" in base
        if not wildcards and not (base + "/").startswith(adapter.base_topic + "/"):
            return Zigbee2MqttAdapter(base_topic=base)
    mqtt_adapter: MqttAdapter = adapter
    return mqtt_adapter


def _check_filter(topic_filter: str) -> None:
    if topic_filter.startswith("$share/"):
        raise ImproperlyConfigured(
            "SHOUWANG_MQTT_TOPICS: write the plain filter and set SHOUWANG_MQTT_SHARE_GROUP "
            f"instead of {topic_filter!r}"
        )
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        wildcard_misused = ("#" in level and (level != "#" or index != len(levels) - 1)) or (
            "+" in level and level != "+"
        )
        if wildcard_misused:
            raise ImproperlyConfigured(
                f"SHOUWANG_MQTT_TOPICS: {topic_filter!r} is not a valid MQTT topic filter"
            )


def _client_id(value: str) -> str:
    value = value.strip()
    if not value or len(value.encode()) > 65535:
        raise ImproperlyConfigured("SHOUWANG_MQTT_CLIENT_ID must be a non-empty string")
    return value


def _share_group(value: str) -> str:
    value = value.strip()
    if any(c in value for c in "/+#"):
        raise ImproperlyConfigured("SHOUWANG_MQTT_SHARE_GROUP must not contain '/', '+' or '#'")
    return value


def _positive_int(name: str, text: str, default: int) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ImproperlyConfigured(f"SHOUWANG_{name} must be a positive integer, got {text!r}")
    return value
