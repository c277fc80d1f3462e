"""The `shouwang` command: import-residents, demo seeding, and serve answering over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shouwang.core.demo import seed_demo_town
from shouwang.core.models import Area, AreaKind, AuditLog, Household, Person, Role, User
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
def test_demo_town_has_what_the_issue_promises() -> None:
    town = seed_demo_town()
    assert Area.objects.filter(kind=AreaKind.COMMUNITY).count() >= 2
    assert Area.objects.filter(kind=AreaKind.COMPOUND).count() >= 3
    assert 180 <= Household.objects.count() <= 260
    assert Person.objects.count() > Household.objects.count()
    assert User.objects.filter(role=Role.COMMUNITY_WORKER).count() == 2
    assert User.objects.filter(username="admin", is_superuser=True).exists()
    assert len(town.workers) == 2
    assert Person.objects.filter(tags__code="living_alone").exists()
    # Seeding twice does not duplicate the town.
    seed_demo_town()
    assert Area.objects.filter(kind=AreaKind.COMMUNITY).count() == 2


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
    with urllib.request.urlopen(f"{served}/api/v1/openapi.json", timeout=10) as response:  # noqa: S310
        assert b"/api/v1/people" in response.read()
