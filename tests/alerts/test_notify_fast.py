"""The first attempt of a delivery (`notify.fast`): planned claimed in the alert's transaction,
sent right after the commit over kept-alive connections, recorded in one write; retries left
to the general sender; and a crash between sending and recording loses nothing.

The receiver is the same real HTTP server as in test_notify.py. The crash test runs a real
`shouwang` process on a SQLite file and kills it (SIGKILL) from inside the receiver, while the
webhook's request is in flight: after the send, before the record.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from shouwang.alerts.models import Channel, ChannelKind, Delivery
from shouwang.alerts.notify import fast, sender
from tests.alerts.conftest import T0
from tests.alerts.test_notify import REAL, Receiver, bot, open_alert, receiver
from tests.conftest import Town

__all__ = ["receiver"]  # the fixture, imported from test_notify

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_on(settings: Any) -> Iterator[None]:
    settings.NOTIFY = replace(settings.NOTIFY, fast=True)
    yield
    fast.runtime.wait_idle(10)
    fast.runtime.stop()
    sender.runtime.wait_idle(10)
    sender.runtime.stop()


@REAL
def test_first_attempts_go_at_commit_over_one_kept_alive_connection(
    town: Town, receiver: Receiver, fast_on: None
) -> None:
    bot(town, receiver, ChannelKind.WEBHOOK, per_minute=0)
    alerts = []
    for n in range(1, 4):
        alerts.append(open_alert(town, n, timezone.now()))  # commits
        assert receiver.wait_for(n, timeout=10)  # sent without any sweep
        assert fast.runtime.wait_idle(10)  # answered and recorded: the connection is free
    assert fast.runtime.wait_idle(10)
    deliveries = {d.alert_id: d for d in Delivery.objects.all()}
    assert len(deliveries) == 3
    for alert in alerts:
        delivery = deliveries[alert.pk]
        assert delivery.status == Delivery.Status.SENT
        assert delivery.attempts == 1
        assert delivery.claim == ""
        assert delivery.sent_at is not None
    by_key = {r.headers["Idempotency-Key"]: r for r in receiver.received}
    assert set(by_key) == {f"shouwang-delivery-{d.pk}" for d in deliveries.values()}
    for alert in alerts:
        body = by_key[f"shouwang-delivery-{deliveries[alert.pk].pk}"].json()
        # apprise's JSON shape, so a receiver cannot tell a first attempt from a retry
        assert set(body) == {"version", "title", "message", "attachments", "type"}
        assert alert.title in body["message"]
        assert f"/alerts/{alert.pk}/" in body["message"]
    # Kept alive: one connection (one client port) for the three messages.
    assert len({r.client for r in receiver.received}) == 1


@REAL
def test_a_failed_first_attempt_is_retried_by_the_sender_with_the_same_key(
    town: Town, receiver: Receiver, fast_on: None
) -> None:
    bot(town, receiver, ChannelKind.WEBHOOK, per_minute=0)
    receiver.answer((500, b"busy"))
    alert = open_alert(town, 1, timezone.now())
    assert receiver.wait_for(1, timeout=10)
    assert fast.runtime.wait_idle(10)
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.claim == ""
    assert "500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)  # backoff
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        # The sweep; the sender's own timer (woken by the failure) may be quicker: either way
        # the retry is sent once.
        sender.run_due()
        assert receiver.wait_for(2, timeout=10)
        assert sender.runtime.wait_idle(10)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    keys = [r.headers["Idempotency-Key"] for r in receiver.received]
    assert keys == [f"shouwang-delivery-{delivery.pk}"] * 2


@pytest.mark.django_db
def test_the_last_message_of_a_window_is_left_to_the_digest(town: Town, fast_on: None) -> None:
    limited = Channel.objects.create(
        name="bot", kind=ChannelKind.WEBHOOK, target="json://x/", per_minute=3
    )
    free = Channel.objects.create(
        name="hook", kind=ChannelKind.WEBHOOK, target="json://y/", per_minute=0
    )
    down = Channel.objects.create(
        name="off", kind=ChannelKind.WEBHOOK, target="json://z/", per_minute=0, active=False
    )
    earlier = open_alert(town, 1, T0)
    Delivery.objects.create(
        channel=limited,
        alert=earlier,
        reason="opened",
        status=Delivery.Status.SENT,
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
        last_attempt_at=timezone.now() - timedelta(seconds=30),
        sent_at=timezone.now(),
    )
    alert = open_alert(town, 2, T0)
    now = timezone.now()
    new = [
        Delivery(channel=c, alert=alert, reason="opened", created_at=now, next_attempt_at=now)
        for c in (limited, limited, free, down)
    ]
    chosen = fast.decide(new, {c.pk: c for c in (limited, free, down)})
    # One sent in the window, a limit of three: one more goes first-hand, the third (the
    # window's last) waits for the general sender to gather; no limit: at once; inactive: no.
    assert chosen == [new[0], new[2]]


# --- a crash between sending and recording -----------------------------------------------


CHILD = """
import sys, time, json
from datetime import datetime, UTC
import django
django.setup()
from shouwang.devices.adapters.zigbee2mqtt import Zigbee2MqttAdapter
from shouwang.devices.services.ingest import Incoming, ingest
payload = json.dumps({"contact": False}).encode()
readings = Zigbee2MqttAdapter("z2m").decode_mqtt("z2m/door_0", payload)
ingest([Incoming(r, datetime.now(UTC)) for r in readings], "mqtt")
print("committed", flush=True)
time.sleep(30)  # the receiver kills us while the webhook's request is in flight
sys.exit(3)
"""

RETRY = """
import json, threading
from datetime import timedelta
import django
django.setup()
import time_machine
from django.db.backends.signals import connection_created
from django.utils import timezone
from shouwang.alerts.models import Delivery
from shouwang.alerts.notify import sender
writers = set()  # the threads whose connections wrote

def watch(sender, connection, **kwargs):
    name = threading.current_thread().name
    def seen(sql):
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writers.add(name)
    connection.connection.set_trace_callback(seen)

connection_created.connect(watch)
before = list(Delivery.objects.values("status", "attempts", "claim"))
with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=False):
    report = sender.run_due()  # the periodic sweep, after the claim ran out
after = list(Delivery.objects.values("id", "status", "attempts", "claim"))
state = {"before": before, "after": after, "sent": report.sent, "writers": sorted(writers)}
print(json.dumps(state))
"""


class KillingReceiver:
    """Kills the process under test when its first POST arrives, before answering it."""

    def __init__(self) -> None:
        self.victim = 0
        self.posts: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.posts.append({"headers": dict(self.headers.items()), "body": body})
                    first = len(outer.posts) == 1
                if first and outer.victim:
                    os.kill(outer.victim, signal.SIGKILL)
                    time.sleep(0.2)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def test_a_crash_between_send_and_record_loses_nothing_and_the_copy_is_recognisable(
    tmp_path: Path,
) -> None:
    hook = KillingReceiver()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env |= {
        "SHOUWANG_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "shouwang.settings",
        "SHOUWANG_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    subprocess.run([python, "-m", "shouwang", "migrate", "-v0"], env=env, check=True, timeout=300)
    subprocess.run(
        [
            python,
            str(ROOT / "bench" / "seed.py"),
            "door",
            "--sensors=1",
            "--watched=1",
            f"--webhook=json://127.0.0.1:{hook.port}/alert",
        ],
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    child = subprocess.Popen(
        [python, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    hook.victim = child.pid
    try:
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert len(hook.posts) == 1

    retried = subprocess.run(
        [python, "-c", RETRY], env=env, check=True, timeout=120, capture_output=True, text=True
    )
    state = json.loads(retried.stdout.strip().splitlines()[-1])
    # The crash left the delivery claimed by the dead process, one attempt counted: not lost.
    [before] = state["before"]
    assert before["status"] == "pending"
    assert before["attempts"] == 1
    assert before["claim"] != ""
    # The sweep sent it again once the claim ran out: one delivery, sent, two attempts …
    [after] = state["after"]
    assert state["sent"] == 1
    assert after["status"] == "sent"
    assert after["attempts"] == 2
    assert after["claim"] == ""
    # On SQLite the retry's lease, claim and record went through the process's one writer
    # thread, as the first attempts' outcomes and the ingest batches do.
    assert state["writers"] == ["sqlite-writer_0"]
    # … and the receiver can tell the second copy for what it is: the same key.
    assert len(hook.posts) == 2
    keys = {p["headers"]["Idempotency-Key"] for p in hook.posts}
    assert keys == {f"shouwang-delivery-{after['id']}"}
    assert json.loads(hook.posts[0]["body"])["title"] == json.loads(hook.posts[1]["body"])["title"]


# --- warm from the start -----------------------------------------------------------------


def _serve_until_listening(env: dict[str, str]) -> list[str]:
    """`shouwang serve --web-only` on a fresh SQLite file: its output up to uvicorn's
    "running" line, when it takes its first request."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "shouwang", "serve", "--web-only", "--no-migrate", "--port", port],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Uvicorn running" in line:
                return lines
        pytest.fail("server exited before it started:\n" + "".join(lines))
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_first_attempt_sender_is_warm_before_the_first_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env |= {"SHOUWANG_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "shouwang.settings"}
    warm = "first-attempt sender ready"
    assert any(warm in line for line in _serve_until_listening(env))
    # Off, nothing starts (every first attempt goes through the general sender).
    off = _serve_until_listening(env | {"SHOUWANG_NOTIFY_FAST": "0"})
    assert not any(warm in line for line in off)
