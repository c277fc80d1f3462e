"""Two towns' operations centres, checkpoints with cameras, and a camera server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine

from shouwang.core.models import Area, AreaKind, Role, User
from shouwang.core.services.areas import create_area
from shouwang.core.services.staff import create_staff
from shouwang.patrol.models import Camera, Checkpoint, SnapshotSource
from shouwang.patrol.services.setup import CameraData, add_camera, add_checkpoint
from tests.conftest import PASSWORD, Town
from tests.patrol.camera_server import PASSWORD as CAMERA_PASSWORD
from tests.patrol.camera_server import USER, CameraServer, camera_server

# Monday 2 March 2026, 08:30 in Shanghai: inside the first round's window.
T0 = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)


@dataclass
class Patrol:
    operator: User  # the ops centre of 守望街道
    other_operator: User  # the ops centre of 临江街道
    other_compound: Area
    east_gate: Checkpoint  # 东风花园 东门
    west_gate: Checkpoint  # 向阳小区 南门
    other_gate: Checkpoint  # 临江小区 北门
    east_camera: Camera
    west_camera: Camera
    other_camera: Camera


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cameras() -> Iterator[CameraServer]:
    with camera_server() as server:
        yield server


@pytest.fixture
def patrol(town: Town, cameras: CameraServer) -> Patrol:
    other_street = create_area(None, town.district, "临江街道", AreaKind.STREET)
    other_community = create_area(None, other_street, "临江社区", AreaKind.COMMUNITY)
    other_compound = create_area(None, other_community, "临江小区", AreaKind.COMPOUND)
    operator = create_staff(
        None, "ops", PASSWORD, Role.PATROL_OPERATOR, [town.street], "守望城运中心"
    )
    other = create_staff(
        None, "ops2", PASSWORD, Role.PATROL_OPERATOR, [other_street], "临江城运中心"
    )
    gates = [
        add_checkpoint(None, town.east_compound, "东门"),
        add_checkpoint(None, town.west_compound, "南门"),
        add_checkpoint(None, other_compound, "北门"),
    ]
    found = [
        add_camera(
            None,
            gate,
            CameraData(
                name=f"{gate.name}枪机",
                snapshot_url=cameras.url("/ISAPI/Streaming/channels/101/picture"),
                username=USER,
                password=CAMERA_PASSWORD,
                live_url="http://127.0.0.1:1984/stream.html?src=gate",
            ),
        )
        for gate in gates
    ]
    return Patrol(operator, other, other_compound, *gates, *found)


def upload_camera(checkpoint: Checkpoint) -> Camera:
    return add_camera(None, checkpoint, CameraData(name="手机拍照", source=SnapshotSource.UPLOAD))
