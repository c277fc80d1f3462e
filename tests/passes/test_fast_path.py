"""The turnstile's fast lane in front of Django (shouwang.passes.asgi): the same answers as the
documented endpoint, and everything that is not a device's verify request passes through."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from shouwang.asgi import application
from shouwang.passes import asgi as fast_lane
from shouwang.passes.models import Pass, Scan
from shouwang.passes.services import gates, issue
from tests.conftest import Town

# The fast lane answers from Django's sync thread: the data must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_lingering_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Request threads (the lane's and Django's) must not keep connections after the test: the
    # test database is dropped at the end of the run.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    yield
    fast_lane.shutdown()


def call(path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> Any:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    status = sent[0]["status"]
    headers_out = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return status, headers_out, content


@pytest.fixture
def device_key(town: Town) -> str:
    return gates.create_gate_device(None, "东门闸机", town.east_compound)[1]


@pytest.fixture
def resident_pass(town: Town) -> Pass:
    return issue.issue_pass(town.east_worker, town.east_person).pass_obj


def verify(key: str, body: dict[str, Any] | bytes) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call("/api/v1/gate/verify", raw, {"authorization": f"Bearer {key}"})


def test_the_fast_lane_answers_like_the_endpoint(
    town: Town, device_key: str, resident_pass: Pass
) -> None:
    status, headers, content = verify(
        device_key, {"code": resident_pass.code, "scan_id": "f-0000001"}
    )
    assert status == 200
    assert "no-store" in headers["cache-control"]
    fast = json.loads(content)
    slow = Client(headers={"authorization": f"Bearer {device_key}"}).post(
        "/api/v1/gate/verify",
        {"code": resident_pass.code, "scan_id": "f-0000002"},
        content_type="application/json",
    )
    assert {k: v for k, v in fast.items() if k != "scan_id"} == {
        k: v for k, v in slow.json().items() if k != "scan_id"
    }
    assert fast["allowed"] is True
    assert fast["name"] == "张*明"
    scan = Scan.objects.get(scan_id="f-0000001")
    assert scan.gate == "东门闸机"
    assert scan.device is not None


def test_the_same_scan_twice_is_stored_once(device_key: str, resident_pass: Pass) -> None:
    verify(device_key, {"code": resident_pass.code, "scan_id": "twice-0001"})
    status, _, _ = verify(device_key, {"code": resident_pass.code, "scan_id": "twice-0001"})
    assert status == 200
    assert Scan.objects.filter(scan_id="twice-0001").count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        ({"nothing": 1}, 422),
        ({"code": 12}, 422),
        ({"code": "x", "direction": "sideways"}, 422),
        ({"code": "x", "scan_id": "no spaces please"}, 422),
        ({"code": "x", "direction": 1}, 422),
        (b"{" + b" " * 9000 + b"}", 413),
    ],
)
def test_bad_requests_get_a_clear_error_and_log_nothing(
    device_key: str, body: Any, status: int
) -> None:
    got, _, content = verify(device_key, body)
    assert got == status
    assert json.loads(content)["detail"]
    assert not Scan.objects.exists()


def test_a_wrong_or_retired_key_is_refused(town: Town, resident_pass: Pass) -> None:
    assert verify("swg_wrong", {"code": resident_pass.code})[0] == 401
    device, key = gates.create_gate_device(None, "北门", town.east_compound)
    gates.deactivate(None, device)
    assert verify(key, {"code": resident_pass.code})[0] == 401
    assert not Scan.objects.exists()


def test_everything_else_goes_to_django(town: Town, device_key: str) -> None:
    # No key: Django's endpoint answers, as to a browser without a session or CSRF token.
    status, _, content = call("/api/v1/gate/verify", b"{}", {})
    assert status == 403
    assert b"CSRF" in content
    # Another path, with the device key: Django's sync endpoint.
    status, _, content = call(
        "/api/v1/gate/sync", b"", {"authorization": f"Bearer {device_key}"}, "GET"
    )
    assert status == 200
    assert json.loads(content)["compound"]["id"] == town.east_compound.pk


def test_the_fast_lane_refuses_nul_and_lone_surrogates_like_the_endpoint(
    town: Town, device_key: str
) -> None:
    for raw in [b'{"code": "SW1:a\\u0000b"}', b'{"code": "SW1:x", "gate": "\\udc00"}']:
        status, _, content = verify(device_key, raw)
        assert status == 422, content
        assert json.loads(content)["detail"][0]["loc"][0] == "body"
    assert not Scan.objects.exists()
