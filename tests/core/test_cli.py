"""The `shouwang` command: import-residents, demo seeding, and serve answering over HTTP."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shouwang.core.demo import seed_demo_town
from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person, Role, User
from shouwang.devices.models import Device, DeviceKind, DeviceStatus, IngestKey, Installation
from shouwang.devices.services.keys import authenticate
from tests.conftest import Town
from tests.core.test_roster_import import GOOD, csv_bytes


def test_import_residents_command(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "东风花园.csv"
    roster.write_bytes(csv_bytes(GOOD))
    call_command("import_residents", str(roster), "--area", str(town.east_compound.pk))
    assert "3" in capsys.readouterr().out
    assert Person.objects.count() == 5
    assert AuditLog.objects.get(action="roster.import").source == "cli"


def test_import_residents_command_rejects_bad_file_whole(town: Town, tmp_path: Path) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_bytes(csv_bytes([GOOD[0], ["", "", "", "1", "1", "1", ""]]))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_residents", str(roster), "--area", "东风花园")
    assert Person.objects.count() == 2


def test_import_residents_command_scopes_to_the_user(town: Town, tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_bytes(csv_bytes(GOOD))
    with pytest.raises(Exception):  # noqa: B017, PT011 - Http404 from the scope check
        call_command(
            "import_residents", str(roster), "--area", str(town.west_compound.pk), "--user", "east"
        )
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_demo_town_has_what_the_issue_promises(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    town = seed_demo_town()
    assert Area.objects.filter(kind=AreaKind.COMMUNITY).count() >= 2
    assert Area.objects.filter(kind=AreaKind.COMPOUND).count() >= 3
    assert 180 <= Household.objects.count() <= 260
    assert Person.objects.count() > Household.objects.count()
    assert User.objects.filter(role=Role.COMMUNITY_WORKER).count() == 2
    assert User.objects.filter(username="admin", is_superuser=True).exists()
    assert len(town.workers) == 2
    assert Person.objects.filter(tags__code="living_alone").exists()

    # About 40 door sensors, put in place through the lifecycle actions: ~30 at households of
    # elderly people living alone, a few at households in home quarantine (the quarantine
    # app's demo cases), the rest in a community's stock.
    sensors = Device.objects.filter(adapter="generic", key__startswith="demo-door-")
    assert 35 <= sensors.count() <= 45
    installed = sensors.filter(status=DeviceStatus.INSTALLED)
    assert 25 <= installed.count() <= 40
    assert sorted(town.sensors) == sorted(installed.values_list("key", flat=True))
    for device in installed.select_related("household"):
        assert device.household is not None
        assert (
            device.household.residents.filter(tags__code="living_alone").exists()
            or device.household.quarantine_cases.exists()
        )
        assert device.area_id == device.household.area_id
    assert Installation.objects.filter(recovered_at__isnull=True).count() == installed.count()
    stock = sensors.filter(status=DeviceStatus.IN_STOCK)
    assert stock.count() == town.sensors_in_stock > 0
    assert set(stock.values_list("area__kind", flat=True)) == {AreaKind.COMMUNITY}
    assert AuditLog.objects.filter(action="device.install").count() == installed.count()
    assert DeviceKind.objects.filter(model__in=sensors.values("model")).exists()

    # The demo gateway's ingest key: the plaintext only in var/ (0600), the hash in the database.
    key_file = tmp_path / "demo_ingest_key"
    assert town.ingest_key_file == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = authenticate(key_file.read_text().strip())
    assert key is not None
    assert key.adapter == "generic"

    from shouwang.quarantine.demo import ACTIVE_CASES
    from shouwang.quarantine.models import Watch

    # Demo cases and care enrolments drive the watches the door rules read.
    assert Watch.objects.filter(kind="quarantine", ends_at__isnull=True).count() == ACTIVE_CASES
    assert Watch.objects.filter(kind="care", ends_at__isnull=True).count() == 5
    # A guard at the first compound, a pass for every resident, the demo turnstile's key.
    from shouwang.passes.models import Pass

    assert User.objects.get(username="guard").role == Role.GATE_GUARD
    assert town.guard_compound
    assert Pass.objects.filter(person__isnull=False).count() == Person.objects.count()
    assert town.gate_key_file is not None
    assert stat.S_IMODE(town.gate_key_file.stat().st_mode) == 0o600

    # Seeding twice does not duplicate the town, its sensors or its key.
    counts = (Device.objects.count(), IngestKey.objects.count(), AuditLog.objects.count())
    again = seed_demo_town()
    assert Area.objects.filter(kind=AreaKind.COMMUNITY).count() == 2
    assert (Device.objects.count(), IngestKey.objects.count(), AuditLog.objects.count()) == counts
    assert again.sensors == town.sensors
    assert again.ingest_key() == town.ingest_key()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "SHOUWANG_DATABASE_URL"}
    env["SHOUWANG_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "shouwang", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        # Wait for uvicorn's own "running" line rather than polling on a timer.
        for line in process.stdout:
            if "Uvicorn running" in line:  # printed once the socket is listening
                break
        else:
            pytest.fail("server exited before it started")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_demo_serves_the_login_page_and_its_assets(served: str) -> None:
    with urllib.request.urlopen(f"{served}/login/", timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        assert response.status == 200
    assert "登录" in page
    with urllib.request.urlopen(f"{served}/static/core/app.css", timeout=10) as response:  # noqa: S310
        assert response.status == 200
    # The API's document is for staff: anonymous is refused (tests/core/test_edge.py).
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served}/api/v1/openapi.json", timeout=10)  # noqa: S310
    assert refused.value.code == 401


@pytest.mark.slow
def test_demo_sensors_send_events_to_the_demo_server(served: str, tmp_path: Path) -> None:
    # The simulator starts once the server listens and pushes the installed sensors' events
    # over HTTP with the demo ingest key; they land in the demo's database.
    database = tmp_path / "shouwang.sqlite3"
    deadline = time.monotonic() + 30
    stored = 0
    while time.monotonic() < deadline and not stored:
        with sqlite3.connect(database, timeout=10) as connection:
            stored = connection.execute(
                "SELECT COUNT(*) FROM devices_deviceevent e JOIN devices_device d"
                " ON d.id = e.device_id WHERE d.key LIKE 'demo-door-%' AND d.status = 'installed'"
            ).fetchone()[0]
        time.sleep(0.2)
    assert stored > 0


def test_each_app_seeds_its_own_part_of_the_demo_once() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from shouwang.core import demo

    assert demo.registered_parts() == [
        "devices",
        "quarantine",
        "passes",
        "patrol",
        "reporting",
        "masks",
        "alerts",
        "devices-count",
    ]
    with pytest.raises(ImproperlyConfigured, match="twice"):
        demo.register("passes", lambda town: None, order=1)


@pytest.mark.slow
def test_the_served_logs_redact_link_tokens_and_ingest_keys(tmp_path: Path) -> None:
    """The real `shouwang serve` with its real log configuration: uvicorn's access lines and
    Django's 404 warnings name the paths, never the tokens or keys in them."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "SHOUWANG_DATABASE_URL"}
    env["SHOUWANG_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "shouwang", "serve", "--web-only", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    secrets = ["PassTokenSecret1", "CheckInSecret22", "swk_IngestKeySecret3"]
    try:
        for line in process.stdout:
            if "Uvicorn running" in line:
                break
        else:
            pytest.fail("server exited before it started")
        base = f"http://127.0.0.1:{port}"
        for url in [
            f"{base}/p/{secrets[0]}/",
            f"{base}/p/{secrets[0]}/code",
            f"{base}/q/{secrets[1]}/",
            f"{base}/api/v1/ingest/ctwing?key={secrets[2]}&x=1",
        ]:
            # Unknown tokens and keys: 404 / 401, logged all the same.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(url, timeout=10)  # noqa: S310
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert '"GET /p/[redacted]/ HTTP/1.1" 404' in output
    assert '"GET /q/[redacted]/ HTTP/1.1" 404' in output
    assert "/api/v1/ingest/ctwing?key=[redacted]&x=1" in output
    for secret in secrets:
        assert secret not in output


@pytest.mark.slow
def test_the_demo_shows_a_notification_from_its_own_receiver(tmp_path: Path) -> None:
    """With nothing configured by hand, a door opening in a quarantined home of the demo is
    delivered by the demo's webhook channel to the receiver the demo hosts, which prints it."""
    port, inbox_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k != "SHOUWANG_DATABASE_URL"}
    env["SHOUWANG_VAR_DIR"] = str(tmp_path)
    command = [sys.executable, "-m", "shouwang", "demo", "--port", str(port)]
    command += ["--inbox-port", str(inbox_port), "--rate", "30"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    seen: list[str] = []
    notification = ""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not notification:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=1)
                seen.append(line)
                if line.startswith("[通知]"):
                    notification = line
    finally:
        process.terminate()
        process.wait(timeout=30)
    said = "".join(seen)
    assert f"receiver on 127.0.0.1:{inbox_port}" in said
    assert notification, said[-2000:]
    assert "【守望" in notification
    assert "住址：" in notification
