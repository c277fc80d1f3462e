"""Snapshots from a real local HTTP server with digest auth: what the operator gets from a
working camera, and what a dead, refusing, garbage-answering or slow one looks like."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from shouwang.core import crypto
from shouwang.core.models import AuditLog
from shouwang.patrol.models import Camera, CameraAuth, CameraStatus, FetchError, Snapshot
from shouwang.patrol.services import snapshots
from shouwang.patrol.services.setup import CameraData, add_camera
from tests.patrol.camera_server import USER, CameraServer, dead_url, gate_jpeg
from tests.patrol.conftest import Patrol, upload_camera


def _camera(patrol: Patrol, url: str, **kw: Any) -> Camera:
    data = CameraData(name="测试", snapshot_url=url, username=USER, password="Cam-pass-2026")
    for key, value in kw.items():
        setattr(data, key, value)
    return add_camera(None, patrol.east_gate, data)


def test_a_snapshot_is_fetched_with_digest_auth_and_kept_encrypted(
    patrol: Patrol, cameras: CameraServer
) -> None:
    taken = snapshots.fetch_now(patrol.operator, patrol.east_camera)
    assert taken is not None
    assert taken.image() == cameras.jpeg
    assert taken.sha256 == hashlib.sha256(cameras.jpeg).hexdigest()
    assert taken.content_type == "image/jpeg"
    assert taken.taken_by == patrol.operator
    camera = Camera.objects.get(pk=patrol.east_camera.pk)
    assert camera.status == CameraStatus.ONLINE
    assert camera.last_error == ""
    # The digest handshake happened: one challenge, then the answer.
    assert len(cameras.requests) == 2
    # At rest: the image, the URL and the password are ciphertext.
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed FROM patrol_snapshot WHERE id = %s", [taken.pk])
        assert cameras.jpeg[:200] not in bytes(cursor.fetchone()[0])
        cursor.execute(
            "SELECT snapshot_url, username, password FROM patrol_camera WHERE id = %s",
            [camera.pk],
        )
        url, user, password = cursor.fetchone()
    assert "127.0.0.1" not in url
    assert user != USER
    assert "Cam-pass" not in password
    assert crypto.decrypt(password, "patrol_camera.password") == "Cam-pass-2026"


def test_basic_auth_works_too(patrol: Patrol, cameras: CameraServer) -> None:
    camera = _camera(patrol, cameras.url("/basic.jpg"), auth=CameraAuth.BASIC)
    assert snapshots.fetch_now(patrol.operator, camera) is not None


@pytest.mark.parametrize(
    ("path", "password", "error", "detail"),
    [
        ("/ISAPI/Streaming/channels/101/picture", "wrong", FetchError.REFUSED, "401"),
        ("/garbage", "Cam-pass-2026", FetchError.NOT_IMAGE, ""),
        ("/error", "Cam-pass-2026", FetchError.HTTP, "500"),
        ("/missing", "Cam-pass-2026", FetchError.HTTP, "404"),
    ],
)
def test_a_camera_that_refuses_or_answers_garbage_is_offline_with_the_reason(
    patrol: Patrol, cameras: CameraServer, path: str, password: str, error: str, detail: str
) -> None:
    camera = _camera(patrol, cameras.url(path), password=password)
    assert snapshots.fetch_now(patrol.operator, camera) is None
    camera.refresh_from_db()
    assert (camera.status, camera.last_error, camera.last_error_detail) == (
        CameraStatus.OFFLINE,
        error,
        detail,
    )
    assert not Snapshot.objects.filter(camera=camera).exists()


def test_a_dead_camera_is_offline_not_an_error(patrol: Patrol) -> None:
    camera = _camera(patrol, dead_url())
    assert snapshots.fetch_now(patrol.operator, camera) is None
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE
    assert camera.last_error == FetchError.UNREACHABLE


def test_a_slow_camera_times_out_and_the_others_are_fresh_meanwhile(
    patrol: Patrol, cameras: CameraServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshots, "ANSWER_TIMEOUT", 0.5)
    cameras.slow_seconds = 3
    slow = _camera(patrol, cameras.url("/slow.jpg"))
    taken = snapshots.refresh(patrol.operator, [slow, patrol.east_camera, patrol.west_camera])
    assert taken[slow.pk] is None
    assert all(taken[c.pk] is not None for c in (patrol.east_camera, patrol.west_camera))
    slow.refresh_from_db()
    assert slow.last_error == FetchError.TIMEOUT


def test_an_operator_refreshes_only_cameras_of_their_own_town(patrol: Patrol) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        snapshots.refresh(patrol.operator, [patrol.east_camera, patrol.other_camera])
    assert not Snapshot.objects.exists()


def test_going_offline_and_back_moves_status_since_only_on_change(
    patrol: Patrol, cameras: CameraServer, clock: Any
) -> None:
    camera = patrol.east_camera
    snapshots.fetch_now(None, camera)
    first = Camera.objects.get(pk=camera.pk).status_since
    clock.shift(600)
    snapshots.fetch_now(None, camera)
    assert Camera.objects.get(pk=camera.pk).status_since == first
    Camera.objects.filter(pk=camera.pk).update(snapshot_url=None)
    camera.refresh_from_db()
    clock.shift(600)
    assert snapshots.fetch_now(None, camera) is None
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE
    assert camera.last_error == FetchError.NO_URL
    assert camera.status_since is not None
    assert camera.status_since > first


def test_snapshots_are_newest_first_and_the_oldest_are_dropped(
    patrol: Patrol, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshots, "KEEP_SNAPSHOTS", 3)
    for _ in range(5):
        snapshots.fetch_now(None, patrol.east_camera)
        clock.shift(60)
    kept = list(Snapshot.objects.filter(camera=patrol.east_camera))
    assert len(kept) == 3
    assert [s.taken_at for s in kept] == sorted((s.taken_at for s in kept), reverse=True)


def test_an_uploaded_image_must_be_a_whole_jpeg_or_png(patrol: Patrol) -> None:
    camera = upload_camera(patrol.west_gate)
    jpeg = gate_jpeg("upload")
    with pytest.raises(ValidationError):
        snapshots.upload(patrol.operator, camera, b"\xff\xd8\xff" + b"not really")
    with pytest.raises(ValidationError):
        snapshots.upload(patrol.operator, camera, b"GIF89a....")
    with pytest.raises(ValidationError):
        snapshots.upload(patrol.operator, camera, jpeg[: len(jpeg) // 3])
    kept = snapshots.upload(patrol.operator, camera, jpeg)
    assert kept.image() == jpeg
    assert AuditLog.objects.filter(action="patrol.snapshot_upload").count() == 1
    with pytest.raises(ValidationError):
        snapshots.fetch_now(patrol.operator, camera)


def test_the_scheduled_fetch_reaches_every_camera(patrol: Patrol) -> None:
    from shouwang.patrol.tasks import fetch_scheduled_snapshots

    counts = fetch_scheduled_snapshots.call_local()
    assert counts == {"cameras": 3, "taken": 3, "offline": 0}
