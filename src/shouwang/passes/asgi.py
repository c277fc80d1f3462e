"""The turnstile's fast lane: `POST /api/v1/gate/verify` with a gate device's Bearer key,
answered without Django's request machinery.

A turnstile asks this many times a second and waits for the answer with a person standing at
it. Through Django's full stack (every middleware of the staff site, session and CSRF work it
does not need, and a thread hop at each sync/async boundary) the same verification cost about
twice the CPU. This wrapper answers exactly that one request shape itself, with the same
services, the same JSON and the same errors as the documented Ninja endpoint
(shouwang.passes.api.verify); everything else, including the guard's page (session and CSRF),
goes to Django untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, connections
from django.http import HttpResponse

from shouwang.core import audit, edge
from shouwang.passes.services import gates
from shouwang.passes.services.verify import Gate, check, new_scan_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

VERIFY_PATH = "/api/v1/gate/verify"
MAX_BODY = 8192
log = logging.getLogger(__name__)


def _answer(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body, ensure_ascii=False).encode()


def status_and_body(response: HttpResponse) -> tuple[int, bytes]:
    return response.status_code, response.content


def verify_request(token: str, body: bytes, ip: str | None, agent: str) -> tuple[int, bytes]:
    """What the Ninja endpoint does for a device, in plain Python. Runs in the lane's threads,
    with the connection handling Django gives a request (closed when obsolete or broken)."""
    close_old_connections()
    try:
        with audit.origin("api", ip, agent):
            device = gates.authenticate(token)
            if device is None:
                return _answer(401, {"detail": "Unauthorized"})
            try:
                payload = json.loads(body or b"null")
            except (ValueError, UnicodeDecodeError):
                return _answer(400, {"detail": "Cannot parse request body"})
            refused = edge.in_json(payload)
            if refused is not None:  # as HostileInputMiddleware answers on the Django path
                return status_and_body(edge.api_refusal(refused))
            if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
                return _answer(422, {"detail": {"code": ["A code (text) is required."]}})
            fields = {k: payload.get(k) for k in ("direction", "scan_id", "method")}
            if any(v is not None and not isinstance(v, str) for v in fields.values()):
                return _answer(422, {"detail": {"__all__": ["direction, scan_id, method: text"]}})
            scan_id = fields["scan_id"] or new_scan_id()
            try:
                verdict = check(
                    Gate(device.compound, device.name, device=device),
                    payload["code"][:2000],
                    direction=fields["direction"] or "in",
                    scan_id=scan_id,
                    method=fields["method"] or "api",
                )
            except ValidationError as exc:
                return _answer(422, {"detail": exc.message_dict})
            return _answer(200, {**verdict.as_dict(), "scan_id": scan_id})
    finally:
        close_old_connections()


_executor: ThreadPoolExecutor | None = None


def _threads() -> int:
    # SQLite takes one writer at a time (a second one waits in the busy handler's sleeps), so
    # one thread; PostgreSQL commits several scans at once while each waits for its fsync.
    return 1 if connection.vendor == "sqlite" else 4


def shutdown() -> None:
    """Close the pool's database connections and stop its threads (tests, clean exits)."""
    global _executor
    if _executor is None:
        return
    size = _threads()
    barrier = threading.Barrier(size)

    def close_mine() -> None:
        # Every thread waits for the others: each runs exactly one of these, on its own
        # connections.
        barrier.wait(timeout=10)
        connections.close_all()

    for future in [_executor.submit(close_mine) for _ in range(size)]:
        future.result(timeout=20)
    _executor.shutdown(wait=True)
    _executor = None


async def _verify(token: str, body: bytes, ip: str | None, agent: str) -> tuple[int, bytes]:
    """In a small pool of long-lived threads, each keeping its database connection between
    requests (within CONN_MAX_AGE), like Django's own sync thread does."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_threads(), thread_name_prefix="gate-verify")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, verify_request, token, body, ip, agent)


def gate_fast_path(app: Any) -> Any:
    """`app` wrapped. Typed loosely: Django's ASGIHandler and servers spell ASGI's types
    differently, and this must sit between them."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == VERIFY_PATH
        ):
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.startswith(gates.KEY_PREFIX):
            await app(scope, receive, send)  # a logged-in guard's page: Django's way
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                status, answer = _answer(413, {"detail": "Request body too large"})
                break
            if not message.get("more_body"):
                client = scope.get("client") or (None, None)
                try:
                    status, answer = await _verify(
                        token.strip(),
                        body,
                        client[0],
                        headers.get(b"user-agent", b"").decode("latin-1")[:200],
                    )
                except Exception:
                    log.exception("gate verify failed")
                    status, answer = _answer(500, {"detail": "Server error"})
                break
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(answer)).encode()),
                    # Names of people: no browser or proxy may keep them.
                    (b"cache-control", b"no-store, no-cache, must-revalidate, max-age=0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    return application
