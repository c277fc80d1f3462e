"""Seed a throwaway database for bench/alert_latency.py (not for real installations).

Creates one community with quarantined households (each with an installed door sensor and a
quarantine watch), households with sensors but no watch (background traffic), a community
worker with a logged-in session, and a generic ingest key; prints them as one JSON object.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from shouwang.alerts.models import Watch, WatchKind
from shouwang.core.models import Area, AreaKind, Role
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import create_household
from shouwang.core.services.staff import create_staff
from shouwang.devices.services.keys import create_ingest_key
from shouwang.devices.services.lifecycle import install_device, register_device


class Command(BaseCommand):
    help = "Benchmark data for bench/alert_latency.py; refuses a database that has areas."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--probes", type=int, default=200)
        parser.add_argument("--background", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if Area.objects.exists():
            raise CommandError("this database is not empty: the bench seeds a fresh one")
        now = timezone.now()
        with transaction.atomic():
            district = create_area(None, None, "基准区", AreaKind.DISTRICT)
            street = create_area(None, district, "基准街道", AreaKind.STREET)
            community = create_area(None, street, "基准社区", AreaKind.COMMUNITY)
            compound = create_area(None, community, "基准小区", AreaKind.COMPOUND)
            watched = create_area(None, compound, "1号楼", AreaKind.BUILDING)
            quiet = create_area(None, compound, "2号楼", AreaKind.BUILDING)
            for i in range(options["probes"]):
                home = create_household(None, watched, f"P{i:04d}")
                device = register_device(None, "generic", f"probe-{i:04d}", community)
                install_device(None, device, home)
                Watch.objects.create(
                    kind=WatchKind.QUARANTINE,
                    household=home,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=13),
                )
            for i in range(options["background"]):
                home = create_household(None, quiet, f"B{i:04d}")
                device = register_device(None, "generic", f"bg-{i:04d}", community)
                install_device(None, device, home)
            worker = create_staff(
                None, "bench-worker", "bench-only-password-x9", Role.COMMUNITY_WORKER, [community]
            )
            _key, secret = create_ingest_key(None, "bench", "generic", area=community)
        session = SessionStore()
        session[SESSION_KEY] = str(worker.pk)
        session[BACKEND_SESSION_KEY] = "shouwang.core.roles.RoleBackend"
        session[HASH_SESSION_KEY] = worker.get_session_auth_hash()
        session.create()
        self.stdout.write(
            json.dumps(
                {
                    "ingest_key": secret,
                    "session": session.session_key,
                    "probes": options["probes"],
                    "background": options["background"],
                }
            )
        )
