"""Ingest throughput: door events stored per second through HTTP batches and through MQTT, on
SQLite and PostgreSQL, next to the raw batched-insert rate of the same database.

    .venv/bin/python bench/ingest.py --db both

Per database, in a temporary SHOUWANG_VAR_DIR (and, for PostgreSQL, a bench database created
for the run and dropped after it):

1. HTTP: `shouwang serve --web-only` on a free port; door traffic from the simulator (generic
   format, realistic payloads) pushed as batches of --batch messages by --clients concurrent
   keep-alive clients. Events/s = events stored / time from the first request to the last
   answer (every answer is a 200 after commit).
2. MQTT: `shouwang ingest` (the MQTT bridge) subscribed to this run's topics on the broker at
   127.0.0.1:1883; the same kind of traffic published one message per event at QoS 1. Events/s =
   events / time from the first publish until the last one is in the database.
3. Raw: rows shaped like devices_deviceevent (same columns, same JSON size) inserted straight
   into that table through the DB driver with executemany, in transactions of --batch rows:
   the ceiling the ingest path is compared with (stored / raw).

Bounded: a fixed number of events, timeouts on every wait, only 127.0.0.1. Prints ONE JSON
object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support import BenchError, free_port, listening, note

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from shouwang.devices.simulator import DoorTraffic, Message  # noqa: E402

SHOUWANG = [sys.executable, "-m", "shouwang"]
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
TARGET_SQLITE_HTTP = 5000.0  # events/s
TARGET_RATIO = 0.30  # of the raw batched-insert rate

_COLUMNS = (
    "device_id, received_at, event_time, kind, door, battery_percent, battery_mv, battery_low,"
    " tamper, online, signal, stale, dedup_key, transport, raw"
)
INSERT_POSTGRES = (
    "INSERT INTO devices_deviceevent (" + _COLUMNS + ") VALUES"
    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
INSERT_SQLITE = (
    "INSERT INTO devices_deviceevent (" + _COLUMNS + ") VALUES"
    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# --- processes ------------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [*SHOUWANG, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"shouwang {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


@contextmanager
def background(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A `shouwang` subprocess, stopped (SIGTERM, then SIGKILL) when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [*SHOUWANG, *args], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_for(predicate: Any, what: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{what}: the process exited with {process.returncode}")
        if predicate():
            return
        time.sleep(0.05)
    raise BenchError(f"{what}: not within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def profiled(
    args: argparse.Namespace, process: subprocess.Popen[bytes], name: str
) -> Iterator[None]:
    """With --profile DIR: py-spy samples `process` meanwhile (collapsed stacks in DIR)."""
    if not args.profile:
        yield
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    output = Path(args.profile) / f"{name}.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(  # noqa: S603 - a profiler of our own child
        [
            py_spy,
            "record",
            "--pid",
            str(process.pid),
            "--format",
            "raw",
            "--threads",
            "--rate",
            "200",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
        note(f"profile of {name}: {output}")


# --- databases ------------------------------------------------------------------------------------


class Database:
    """The database under test, reached from the bench directly through its driver."""

    def __init__(self, kind: str, var_dir: Path) -> None:
        self.kind = kind
        self.var_dir = var_dir
        self.name = f"shouwang_bench_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = f"{POSTGRES_URL}/{self.name}" if kind == "postgres" else ""
        self.path = var_dir / "shouwang.sqlite3"

    def create(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
        env |= {
            "SHOUWANG_VAR_DIR": str(self.var_dir),
            "SHOUWANG_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT / "src"),
        }
        if self.url:
            env["SHOUWANG_DATABASE_URL"] = self.url
        return env

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as postgres:
                yield postgres
        else:
            lite = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                # The same settings the app's connections use.
                lite.execute("PRAGMA journal_mode=WAL")
                lite.execute("PRAGMA synchronous=NORMAL")
                yield lite
            finally:
                lite.close()

    def scalar(self, connection: Any, sql: str) -> Any:
        return connection.execute(sql).fetchone()[0]

    def count_events(self, connection: Any) -> int:
        return int(self.scalar(connection, "SELECT COUNT(*) FROM devices_deviceevent"))

    def last_event_id(self, connection: Any) -> int:
        # Cheap enough to poll every few milliseconds, unlike COUNT(*).
        return int(self.scalar(connection, "SELECT COALESCE(MAX(id), 0) FROM devices_deviceevent"))


# --- traffic --------------------------------------------------------------------------------------


def door_traffic(events: int, devices: int, keys: list[str], seed: int) -> list[Message]:
    """`events` realistic generic messages (doors opening and closing, heartbeats) of the given
    devices, from the simulator, ending now."""
    rate = 200.0
    window = events / rate * 1.1
    traffic = DoorTraffic(
        start=datetime.now(UTC) - timedelta(seconds=window),
        keys=keys,
        rate=rate,
        formats=["generic"],
        seed=seed,
        flat=True,
    )
    messages = traffic.until(traffic.start + timedelta(seconds=window))
    if len(messages) < events:
        messages += traffic.until(traffic.start + timedelta(seconds=window * 2))
    return messages[:events]


def first_messages(count: int, keys: list[str]) -> list[Message]:
    """One message from each device: after these, every device is known."""
    messages = door_traffic(count * 20, count, keys, seed=1)
    first: dict[str, Message] = {}
    for message in messages:
        first.setdefault(message.device, message)
    missing = set(keys) - set(first)
    if missing:
        raise BenchError(f"warm-up traffic misses {len(missing)} devices")
    return list(first.values())


def bodies(messages: list[Message], batch: int) -> list[bytes]:
    return [
        json.dumps([m.http_item for m in messages[i : i + batch]], separators=(",", ":")).encode()
        for i in range(0, len(messages), batch)
    ]


def post_all(port: int, key: str, payloads: list[bytes], clients: int) -> dict[str, Any]:
    """Push every body with `clients` keep-alive connections, each taking the next body as soon
    as its previous one is answered. A refused batch is counted, not retried."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in payloads:
        work.put(body)
    stored = [0] * clients
    failed: list[str] = []
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    connection.request("POST", "/api/v1/ingest/generic", body, headers)
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    failed.append(f"{type(exc).__name__}: {exc}")
                    connection.close()
                    continue
                if response.status == 200:
                    stored[index] += int(json.loads(answer)["stored"])
                else:
                    failed.append(f"HTTP {response.status}: {answer[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "stored": sum(stored),
        "failed_requests": len(failed),
        "first_error": failed[0] if failed else None,
    }


# --- the three measurements -------------------------------------------------------------------


def bench_http(db: Database, args: argparse.Namespace, keys: list[str]) -> dict[str, Any]:
    env = db.env()
    key = manage(
        env,
        "shell",
        "-c",
        "from shouwang.devices.services.keys import create_ingest_key;"
        "print(create_ingest_key(None, 'bench', 'generic')[1])",
    ).split()[-1]
    port = free_port()
    warmup = first_messages(len(keys), keys)
    # Every device heard once first: the timed part is the steady state (known devices).
    warmup_bodies = bodies(warmup, args.batch)
    timed = bodies(door_traffic(args.events, len(keys), keys, seed=2), args.batch)
    with background(
        env, db.var_dir / "serve.log", "serve", "--web-only", "--no-migrate", "--port", str(port)
    ) as server:
        wait_for(lambda: listening(port), "shouwang serve", 60, server)
        warm = post_all(port, key, warmup_bodies, 1)
        if warm["failed_requests"]:
            raise BenchError(f"HTTP warm-up failed: {warm['first_error']}")
        cpu_before = cpu_seconds(server.pid)
        with profiled(args, server, f"{db.kind}-http"):
            push = post_all(port, key, timed, args.clients)
        server_cpu = cpu_seconds(server.pid) - cpu_before
    with db.connect() as connection:
        in_db = db.count_events(connection) - warm["stored"]
    if in_db != push["stored"]:
        raise BenchError(f"HTTP: {push['stored']} answered as stored but {in_db} in the DB")
    seconds, stored = push["seconds"], push["stored"]
    result = {
        "events": stored,
        "offered": args.events,
        "batch": args.batch,
        "clients": args.clients,
        "requests": len(timed),
        "seconds": round(seconds, 3),
        "events_per_s": round(stored / seconds, 1),
        # Independent of what else runs on the machine: events per CPU-second of the server.
        "server_cpu_s": round(server_cpu, 2),
        "events_per_server_cpu_s": round(stored / server_cpu, 1) if server_cpu else None,
    }
    if push["failed_requests"]:
        # Batches the server refused (e.g. a 500 after SQLite's busy timeout): not stored.
        result |= {"failed_requests": push["failed_requests"], "first_error": push["first_error"]}
    return result


def bench_mqtt(db: Database, args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    # `shouwang ingest` lives in the runtime app; a checkout before it, in devices.
    commands = [
        ROOT / f"src/shouwang/{app}/management/commands/ingest.py" for app in ("runtime", "devices")
    ]
    if not any(path.exists() for path in commands):
        return {"available": False, "reason": "`shouwang ingest` (the MQTT bridge) is not there"}
    if not listening(MQTT_PORT):
        return {"available": False, "reason": f"no MQTT broker on {MQTT_HOST}:{MQTT_PORT}"}
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    root = f"shouwang/generic/bench{run_id}"
    keys = [f"bench{run_id}/d{i:05d}" for i in range(args.devices)]
    env = db.env() | {
        "SHOUWANG_MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
        "SHOUWANG_MQTT_TOPICS": f"generic={root}/#",
        "SHOUWANG_MQTT_CLIENT_ID": f"shouwang-bench-{run_id}",
        "SHOUWANG_MQTT_SESSION_EXPIRY": "30",
        "SHOUWANG_MQTT_BATCH_MAX": str(args.batch),
    }
    publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-publisher-{run_id}")
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    publisher.connect(MQTT_HOST, MQTT_PORT)
    publisher.loop_start()
    warmup = first_messages(len(keys), keys)
    timed = door_traffic(args.mqtt_events, len(keys), keys, seed=4)
    log = db.var_dir / "ingest.log"
    stalled = False
    try:
        with db.connect() as connection, background(env, log, "ingest") as bridge:
            before = db.count_events(connection)
            wait_for(lambda: b"subscribed to" in log.read_bytes(), "shouwang ingest", 60, bridge)
            for message in warmup:
                publisher.publish(message.topic, message.payload, qos=1)
            target = before + len(warmup)
            wait_for(lambda: db.count_events(connection) >= target, "MQTT warm-up", 120, bridge)
            base = db.last_event_id(connection)
            cpu_before = cpu_seconds(bridge.pid)
            with profiled(args, bridge, f"{db.kind}-mqtt"):
                # Closed loop: at most --mqtt-window events published and not yet stored. An
                # open loop would overrun the broker's queue for a slow subscriber (Mosquitto
                # drops QoS 1 messages beyond max_queued_messages, 1000 by default) and measure
                # the loss instead of the bridge.
                sent, stored = 0, 0
                started = time.perf_counter()
                deadline = started + args.timeout
                last_progress = (started, 0)
                while stored < len(timed):
                    allowed = min(len(timed), stored + args.mqtt_window)
                    while sent < allowed:
                        message = timed[sent]
                        publisher.publish(message.topic, message.payload, qos=1)
                        sent += 1
                    time.sleep(0.005)
                    stored = db.last_event_id(connection) - base
                    now = time.perf_counter()
                    if stored != last_progress[1]:
                        last_progress = (now, stored)
                    if bridge.poll() is not None:
                        raise BenchError(f"shouwang ingest exited with {bridge.returncode}")
                    if now > deadline or now - last_progress[0] > 30:
                        stalled = True
                        break
                seconds = time.perf_counter() - started
            bridge_cpu = cpu_seconds(bridge.pid) - cpu_before
            stored = db.count_events(connection) - before - len(warmup)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    result = {
        "events": stored,
        "offered": len(timed),
        "qos": 1,
        "batch_max": args.batch,
        "window": args.mqtt_window,
        "seconds": round(seconds, 3),
        "events_per_s": round(stored / seconds, 1),
        "bridge_cpu_s": round(bridge_cpu, 2),
        "events_per_bridge_cpu_s": round(stored / bridge_cpu, 1) if bridge_cpu else None,
    }
    if stalled:
        result["stalled"] = "events stopped arriving (timeout, or messages dropped by the broker)"
    return result


def bench_raw(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    """executemany INSERTs into devices_deviceevent itself (same columns, constraints and
    indexes), rows like the stored ones (same raw JSON), transactions of --batch rows."""
    with db.connect() as connection:
        device_ids = [
            row[0]
            for row in connection.execute("SELECT id FROM devices_device ORDER BY id").fetchall()
        ]
        sample = [
            row[0]
            for row in connection.execute(
                "SELECT raw FROM devices_deviceevent WHERE transport = 'http'"
                " ORDER BY id DESC LIMIT 200"
            ).fetchall()
        ]
        if not device_ids or not sample:
            raise BenchError("raw insert: no devices or events to model the rows on")
        raws = [s if isinstance(s, str) else json.dumps(s) for s in sample]
        now = datetime.now(UTC)
        rows: list[tuple[Any, ...]] = []
        for i in range(args.events):
            at = now - timedelta(milliseconds=args.events - i)
            raw = raws[i % len(raws)]
            rows.append(
                (
                    device_ids[i % len(device_ids)],
                    at,
                    at,
                    "state",
                    "open" if i % 2 else "closed",
                    80,
                    None,
                    None,
                    False,
                    None,
                    -70,
                    False,
                    f"raw-{i}",
                    "http",
                    raw,
                )
            )
        if db.kind == "postgres":
            from psycopg.types.json import Jsonb

            sql = INSERT_POSTGRES
            prepared = [(*row[:-1], Jsonb(json.loads(row[-1]))) for row in rows]
            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(0, len(prepared), args.batch):
                with connection.transaction(), connection.cursor() as cursor:
                    cursor.executemany(sql, prepared[i : i + args.batch])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        else:
            sql = INSERT_SQLITE
            # Stored the way Django's SQLite backend stores datetimes.
            prepared = [
                (
                    row[0],
                    row[1].strftime("%Y-%m-%d %H:%M:%S.%f"),
                    row[2].strftime("%Y-%m-%d %H:%M:%S.%f"),
                    *row[3:],
                )
                for row in rows
            ]
            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(0, len(prepared), args.batch):
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(sql, prepared[i : i + args.batch])
                connection.execute("COMMIT")
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "events": len(rows),
        "batch": args.batch,
        "seconds": round(seconds, 3),
        "events_per_s": round(len(rows) / seconds, 1),
        # CPU of this (the inserting) process: on SQLite that includes the database's own
        # work, as the server's CPU does, so the two compare however busy the machine is.
        "cpu_s": round(cpu, 2),
        "events_per_cpu_s": round(len(rows) / cpu, 1) if cpu else None,
        "raw_json_bytes": round(sum(len(r) for r in raws) / len(raws)),
    }


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix=f"shouwang-bench-{kind}-"))
    db = Database(kind, var_dir)
    run_id = secrets.token_hex(3)
    result: dict[str, Any] = {}
    try:
        db.create()
        manage(db.env(), "migrate", "--verbosity", "0")
        keys = [f"bench-{i:05d}" for i in range(args.devices)]
        note(f"{kind}: HTTP, {args.events} events in batches of {args.batch}")
        result["http"] = bench_http(db, args, keys)
        note(f"{kind}: HTTP {result['http']['events_per_s']} events/s")
        if args.mqtt_events:
            note(f"{kind}: MQTT, {args.mqtt_events} events")
            try:
                result["mqtt"] = bench_mqtt(db, args, run_id)
            except BenchError as exc:
                result["mqtt"] = {"available": False, "reason": str(exc)}
            note(f"{kind}: MQTT {result['mqtt']}")
        note(f"{kind}: raw executemany, {args.events} rows")
        result["raw_insert"] = bench_raw(db, args)
        raw = result["raw_insert"]["events_per_s"]
        result["http"]["ratio_to_raw"] = round(result["http"]["events_per_s"] / raw, 3)
        raw_per_cpu = result["raw_insert"]["events_per_cpu_s"]
        if kind == "sqlite" and raw_per_cpu and result["http"]["events_per_server_cpu_s"]:
            # Less sensitive to other work on the machine than the wall-clock ratio.
            result["http"]["cpu_ratio_to_raw"] = round(
                result["http"]["events_per_server_cpu_s"] / raw_per_cpu, 3
            )
        if "events_per_s" in result.get("mqtt", {}):
            result["mqtt"]["ratio_to_raw"] = round(result["mqtt"]["events_per_s"] / raw, 3)
            if kind == "sqlite" and raw_per_cpu and result["mqtt"]["events_per_bridge_cpu_s"]:
                result["mqtt"]["cpu_ratio_to_raw"] = round(
                    result["mqtt"]["events_per_bridge_cpu_s"] / raw_per_cpu, 3
                )
        result["targets"] = {
            "ratio_min": TARGET_RATIO,
            "http_ratio_met": result["http"]["ratio_to_raw"] >= TARGET_RATIO,
        }
        if kind == "sqlite":
            result["targets"] |= {
                "http_events_per_s_min": TARGET_SQLITE_HTTP,
                "http_events_per_s_met": result["http"]["events_per_s"] >= TARGET_SQLITE_HTTP,
            }
    except BenchError as exc:
        result["error"] = str(exc)
        note(f"{kind}: {exc}")
    finally:
        with suppress(Exception):
            db.drop()
        if args.keep:
            result["var_dir"] = str(var_dir)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=50_000, help="timed HTTP events")
    parser.add_argument("--mqtt-events", type=int, default=20_000, help="0: skip MQTT")
    parser.add_argument(
        "--mqtt-window", type=int, default=1500, help="MQTT events published but not yet stored"
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dirs")
    parser.add_argument(
        "--profile", metavar="DIR", help="sample the server and bridge with py-spy into DIR"
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = {kind: bench_database(kind, args) for kind in kinds}
    print(
        json.dumps(
            {
                "bench": "ingest",
                "cpus": os.cpu_count(),
                # Other work on the machine skews every figure: say how busy it was.
                "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "events": args.events,
                "mqtt_events": args.mqtt_events,
                "devices": args.devices,
                "results": results,
                "seconds": round(time.perf_counter() - started, 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
