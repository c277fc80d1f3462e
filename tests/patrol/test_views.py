"""The operations centre's camera screens, in Chinese, scoped to its own town."""

from __future__ import annotations

from django.test import Client

from shouwang.core.models import User
from shouwang.patrol.models import Camera, Snapshot
from shouwang.patrol.services import snapshots
from tests.conftest import Town
from tests.patrol.camera_server import CameraServer, dead_url, gate_jpeg
from tests.patrol.conftest import Patrol, upload_camera


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_the_operator_sees_the_towns_checkpoints_and_fetches_a_snapshot(
    patrol: Patrol, cameras: CameraServer
) -> None:
    client = _client(patrol.operator)
    page = client.get("/patrol/").content.decode()
    assert "东门" in page
    assert "南门" in page
    assert "北门" not in page  # another town's
    answer = client.post(
        f"/patrol/cameras/{patrol.east_camera.pk}/fetch/", {"back": "checkpoint"}, follow=True
    )
    html = answer.content.decode()
    assert answer.redirect_chain[-1][0] == f"/patrol/checkpoints/{patrol.east_gate.pk}/"
    snapshot = Snapshot.objects.get(camera=patrol.east_camera)
    assert f"/patrol/snapshots/{snapshot.pk}/image" in html
    assert "在线" in html
    image = client.get(f"/patrol/snapshots/{snapshot.pk}/image")
    assert image["Content-Type"] == "image/jpeg"
    assert image.content == cameras.jpeg
    assert "no-store" in image["Cache-Control"]
    camera_page = client.get(f"/patrol/cameras/{patrol.east_camera.pk}/").content.decode()
    # The URL is shown as its host only; the password never.
    assert "http://127.0.0.1:" in camera_page
    assert "/ISAPI/" not in camera_page
    assert "Cam-pass" not in camera_page


def test_a_dead_camera_reads_offline_on_the_page(patrol: Patrol) -> None:
    Camera.objects.filter(pk=patrol.east_camera.pk).update(snapshot_url=dead_url())
    client = _client(patrol.operator)
    answer = client.post(f"/patrol/cameras/{patrol.east_camera.pk}/fetch/", follow=True)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "离线" in html
    assert "无法连接" in html


def test_another_towns_checkpoint_camera_and_snapshot_are_not_found(patrol: Patrol) -> None:
    taken = snapshots.fetch_now(None, patrol.other_camera)
    assert taken is not None
    client = _client(patrol.operator)
    for url in (
        f"/patrol/checkpoints/{patrol.other_gate.pk}/",
        f"/patrol/cameras/{patrol.other_camera.pk}/",
        f"/patrol/snapshots/{taken.pk}/image",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/patrol/cameras/{patrol.other_camera.pk}/fetch/").status_code == 404
    assert Snapshot.objects.filter(camera=patrol.other_camera).count() == 1
    # The other town's own operator reaches them.
    other = _client(patrol.other_operator)
    assert other.get(f"/patrol/snapshots/{taken.pk}/image").status_code == 200


def test_a_community_worker_has_no_camera_screens(patrol: Patrol, town: Town) -> None:
    client = _client(town.east_worker)
    assert client.get("/patrol/").status_code == 403
    assert client.get(f"/patrol/cameras/{patrol.east_camera.pk}/").status_code == 403
    home = client.get("/").content.decode()
    assert 'href="/patrol/"' not in home
    assert "/patrol/rounds/" not in home
    assert 'href="/patrol/orders/"' in home  # their community's rectification orders


def test_an_image_is_uploaded_for_a_camera_shouwang_cannot_reach(patrol: Patrol) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    camera = upload_camera(patrol.west_gate)
    client = _client(patrol.operator)
    bad = SimpleUploadedFile("gate.jpg", b"not an image", content_type="image/jpeg")
    html = client.post(
        f"/patrol/cameras/{camera.pk}/upload/", {"image": bad}, follow=True
    ).content.decode()
    assert "不是 JPEG 或 PNG 图片" in html
    good = SimpleUploadedFile("gate.jpg", gate_jpeg(), content_type="image/jpeg")
    client.post(f"/patrol/cameras/{camera.pk}/upload/", {"image": good})
    assert Snapshot.objects.filter(camera=camera).count() == 1


def test_a_round_is_walked_through_the_pages(patrol: Patrol, town: Town, clock: object) -> None:
    from shouwang.patrol.models import PatrolPlan, RectificationOrder, Round, StopResult

    client = _client(patrol.operator)
    html = client.get("/patrol/rounds/").content.decode()
    assert "建立巡查计划" in html
    client.post("/patrol/plans/new/", {"area": town.street.pk})
    plan = PatrolPlan.objects.get()
    answer = client.post("/patrol/rounds/open/", {"plan": plan.pk, "window": 0}, follow=True)
    round_ = Round.objects.get()
    html = answer.content.decode()
    assert "已查 0 / 2" in html
    assert "东门" in html
    assert Snapshot.objects.filter(camera=patrol.east_camera).exists()  # fetched fresh
    first, second = round_.stops.order_by("position")
    client.post(f"/patrol/rounds/{round_.pk}/stops/{first.pk}/ok/")
    evidence = Snapshot.objects.filter(camera=patrol.west_camera).first()
    if evidence is None:
        client.get(f"/patrol/rounds/{round_.pk}/?stop={second.pk}")
        evidence = Snapshot.objects.filter(camera=patrol.west_camera).first()
    assert evidence is not None
    bad = client.post(
        f"/patrol/rounds/{round_.pk}/stops/{second.pk}/finding/",
        {"category": "asleep", "severity": 1},
        follow=True,
    )
    assert "有效的选项" in bad.content.decode()  # Django: 选择一个有效的选项
    client.post(
        f"/patrol/rounds/{round_.pk}/stops/{second.pk}/finding/",
        {"category": "crowding", "severity": 2, "note": "聚集", "evidence": evidence.pk},
    )
    second.refresh_from_db()
    assert second.result == StopResult.FINDING
    assert RectificationOrder.objects.get().finding.evidence == evidence
    # Another town's operator: the round, its stops and its order are not found.
    other = _client(patrol.other_operator)
    assert other.get(f"/patrol/rounds/{round_.pk}/").status_code == 404
    assert other.post(f"/patrol/rounds/{round_.pk}/stops/{first.pk}/ok/").status_code == 404
    assert other.post("/patrol/rounds/open/", {"plan": plan.pk, "window": 1}).status_code == 404
