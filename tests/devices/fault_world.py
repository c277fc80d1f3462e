"""A world of its own for fault tests and benches: a Mosquitto and a PostgreSQL on spare ports
in a temporary directory, the bridge as a process (`tests.devices.fault_bridge`), and the
helpers to publish Zigbee2MQTT traffic and count what was stored.

Used by tests/devices/test_ingest_faults.py and bench/db_resume.py. No Django imports: the
bench runs it without settings, and every query goes straight through psycopg.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psycopg

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90.0


def _binary(pattern: str) -> str | None:
    found = sorted(glob.glob(pattern))
    return found[-1] if found else None


MOSQUITTO = shutil.which("mosquitto") or _binary("/usr/sbin/mosquitto")
INITDB = _binary("/usr/lib/postgresql/*/bin/initdb")
PG_CTL = _binary("/usr/lib/postgresql/*/bin/pg_ctl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(check: object, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class Broker:
    """Mosquitto configured for no loss (docs/device-integration.md), restartable."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        (directory / "data").mkdir()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory / 'data'}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "queue_qos0_messages false\n"
            "max_inflight_messages 0\n"
            f"log_dest file {directory / 'mosquitto.log'}\n"
            # As root Mosquitto would switch to its own user, who cannot write here.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOSQUITTO
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)])
        wait(lambda: listening(self.port), "Mosquitto to listen")

    def stop(self) -> None:
        # SIGTERM: Mosquitto writes its persistence file on the way out.
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=TIMEOUT)


class Postgres:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.data = directory / "pg"
        self.socket_dir = directory
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            # initdb refuses to run as root.
            shutil.chown(directory, "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/shouwang"

    def start(self) -> None:
        assert INITDB
        run = self._as_postgres
        subprocess.run(
            [*run, INITDB, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        self.resume()
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE shouwang")

    def resume(self, wait: bool = True) -> None:
        """Start the server on its existing data (after `stop`: crash recovery first); with
        `wait`, return once it accepts connections."""
        assert PG_CTL
        run = self._as_postgres
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *run,
                PG_CTL,
                "-D",
                str(self.data),
                "-o",
                options,
                "-w" if wait else "-W",
                "-l",
                str(self.socket_dir / "pg.log"),
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """`-m immediate`: like a crash or a pulled cable, no orderly shutdown."""
        subprocess.run(
            [*self._as_postgres, PG_CTL, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )


class BridgeProcess:
    def __init__(self, env: dict[str, str], kill_after: int = 0) -> None:
        args = [sys.executable, "-m", "tests.devices.fault_bridge"]
        if kill_after:
            args.append(str(kill_after))
        self.process = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"{text!r} did not appear:\n{''.join(self.output)}")
            self.output.append(line)
            if text in line:
                return

    def finish(self) -> int:
        status = self.process.wait(timeout=TIMEOUT)
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            self.output.append(line)
        return status


def missing_binaries() -> list[str]:
    return [
        name
        for name, path in (
            ("mosquitto", MOSQUITTO),
            ("/usr/lib/postgresql/*/bin/initdb", INITDB),
            ("/usr/lib/postgresql/*/bin/pg_ctl", PG_CTL),
        )
        if not path
    ]


@contextlib.contextmanager
def world() -> Iterator[tuple[Broker, Postgres, dict[str, str]]]:
    """The broker and database started, migrated; the environment for `shouwang` processes."""
    directory = Path(tempfile.mkdtemp(prefix="shouwang-faults-"))
    directory.chmod(0o755)
    broker, postgres = Broker(directory), Postgres(directory)
    try:
        broker.start()
        postgres.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
        env |= {
            "SHOUWANG_VAR_DIR": str(directory / "var"),
            "SHOUWANG_DATABASE_URL": postgres.url,
            "SHOUWANG_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
            "SHOUWANG_MQTT_CLIENT_ID": f"faults-{uuid.uuid4().hex[:8]}",
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run(
            [sys.executable, "-m", "shouwang", "migrate", "-v0"],
            env=env,
            check=True,
            capture_output=True,
        )
        yield broker, postgres, env
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


def payload(n: int) -> bytes:
    """A Zigbee2MQTT door sensor's n-th message, as Zigbee2MQTT sends it without last_seen:
    the door goes open, open, closed, closed, … so equal bytes follow each other (a genuine
    repeat: the sensor reports the same state again) and recur all the time."""
    closed = (n // 2) % 2 == 1
    return json.dumps(
        {"contact": closed, "battery": 90 - (n // 40) % 3, "linkquality": 120, "voltage": 3000},
        separators=(",", ":"),
    ).encode()


def generic_payload(n: int) -> bytes:
    """The generic format without an "id": the same repeats as `payload`."""
    door = "closed" if (n // 2) % 2 else "open"
    return json.dumps({"door": door, "battery": 80}).encode()


def normal(data: bytes | str) -> str:
    return json.dumps(json.loads(data), sort_keys=True)


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(500)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, data, qos=1) for topic, data in messages]
        for info in infos:
            info.wait_for_publish(timeout=TIMEOUT)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def stored(url: str, prefix: str) -> Counter[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT d.key, e.raw::text FROM devices_deviceevent e "
            "JOIN devices_device d ON d.id = e.device_id WHERE d.key LIKE %s",
            [prefix + "%"],
        ).fetchall()
    return Counter((key, normal(raw)) for key, raw in rows)


def dead_letters(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT topic, reason FROM devices_deadletter LIMIT 5").fetchall()
