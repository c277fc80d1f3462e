"""Seed a throwaway bench database (never a real installation's): run by the benches in the
temporary SHOUWANG_VAR_DIR / bench database they created, after `shouwang migrate`.

    .venv/bin/python bench/seed.py alert-latency --probes 200 --background 500
    .venv/bin/python bench/seed.py door --sensors 200 --watched 20 --base z2m-xyz \\
        --webhook http://127.0.0.1:PORT/alert

Both create one community with a community worker logged in (a session for the SSE console,
with a random password nobody knows) and print one JSON object on stdout:
- alert-latency: quarantined households with generic door sensors probe-NNNN (each watched),
  households with unwatched sensors bg-NNNN, and a generic ingest key;
- door: Zigbee2MQTT sensors door_0 … door_{N-1} in households named after them (so an alert's
  title, and with it the webhook's message, names the sensor); door_0 … door_{W-1} are under
  quarantine; a JSON webhook channel (no rate limit, as the harness's receivers have none)
  subscribed for the community.

It refuses a database that already has areas. Lives here, not in the product: it creates a
staff account and forges a session, which no installation should be able to do by command.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from datetime import timedelta
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()


def _community() -> tuple[Any, Any, Any, Any]:
    from shouwang.core.models import Area, AreaKind
    from shouwang.core.services.areas import create_area

    if Area.objects.exists():
        raise SystemExit("this database is not empty: the bench seeds a fresh one")
    district = create_area(None, None, "基准区", AreaKind.DISTRICT)
    street = create_area(None, district, "基准街道", AreaKind.STREET)
    community = create_area(None, street, "基准社区", AreaKind.COMMUNITY)
    compound = create_area(None, community, "基准小区", AreaKind.COMPOUND)
    watched = create_area(None, compound, "1号楼", AreaKind.BUILDING)
    quiet = create_area(None, compound, "2号楼", AreaKind.BUILDING)
    return community, compound, watched, quiet


def _watch(household: Any) -> None:
    from django.utils import timezone

    from shouwang.quarantine.models import Watch, WatchKind

    now = timezone.now()
    Watch.objects.create(
        kind=WatchKind.QUARANTINE,
        household=household,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=13),
    )


def _sensor(adapter: str, key: str, community: Any, home: Any) -> None:
    from shouwang.devices.services.lifecycle import install_device, register_device

    install_device(None, register_device(None, adapter, key, community), home)


def _worker_session(community: Any) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from shouwang.core.models import Role
    from shouwang.core.services.staff import create_staff

    worker = create_staff(
        None, "bench-worker", secrets.token_urlsafe(24), Role.COMMUNITY_WORKER, [community]
    )
    session = SessionStore()
    session[SESSION_KEY] = str(worker.pk)
    session[BACKEND_SESSION_KEY] = "shouwang.core.roles.RoleBackend"
    session[HASH_SESSION_KEY] = worker.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def seed_alert_latency(probes: int, background: int) -> dict[str, Any]:
    from django.db import transaction

    from shouwang.core.services.people import create_household
    from shouwang.devices.services.keys import create_ingest_key

    with transaction.atomic():
        community, _compound, watched, quiet = _community()
        for i in range(probes):
            home = create_household(None, watched, f"P{i:04d}")
            _sensor("generic", f"probe-{i:04d}", community, home)
            _watch(home)
        for i in range(background):
            home = create_household(None, quiet, f"B{i:04d}")
            _sensor("generic", f"bg-{i:04d}", community, home)
        _key, secret = create_ingest_key(None, "bench", "generic", area=community)
    return {
        "ingest_key": secret,
        "session": _worker_session(community),
        "probes": probes,
        "background": background,
    }


def seed_door(sensors: int, watched_count: int, webhook: str) -> dict[str, Any]:
    from django.db import transaction

    from shouwang.alerts.models import Channel, ChannelKind, Subscription
    from shouwang.core.services.people import create_household

    with transaction.atomic():
        community, _compound, watched, quiet = _community()
        for i in range(sensors):
            home = create_household(None, watched if i < watched_count else quiet, f"door_{i}")
            _sensor("zigbee2mqtt", f"door_{i}", community, home)
            if i < watched_count:
                _watch(home)
        channel = Channel.objects.create(
            name="bench webhook", kind=ChannelKind.WEBHOOK, target=webhook, per_minute=0
        )
        Subscription.objects.create(channel=channel, area=community)
    return {"session": _worker_session(community), "sensors": sensors, "watched": watched_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    latency = commands.add_parser("alert-latency")
    latency.add_argument("--probes", type=int, default=200)
    latency.add_argument("--background", type=int, default=500)
    door = commands.add_parser("door")
    door.add_argument("--sensors", type=int, default=200)
    door.add_argument("--watched", type=int, default=20)
    door.add_argument("--webhook", required=True, help="json://host:port/path of the receiver")
    args = parser.parse_args()
    _setup()
    if args.command == "alert-latency":
        result = seed_alert_latency(args.probes, args.background)
    else:
        result = seed_door(args.sensors, args.watched, args.webhook)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
