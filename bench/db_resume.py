"""How soon MQTT ingestion resumes once PostgreSQL is reachable again after an outage.

    .venv/bin/python bench/db_resume.py [--outages 5] [--down 2.0]

A Mosquitto and a PostgreSQL of the bench's own on spare ports (tests/devices/fault_world.py,
the same world as the fault tests) and the bridge as a process (`tests.devices.fault_bridge`,
configured like `shouwang ingest`). Each outage: a message is stored (the bridge is connected
and warm); PostgreSQL is stopped (`pg_ctl -m immediate`); a message is published while it is
down and the bridge's status file must say "database unreachable"; after --down seconds
PostgreSQL is started without waiting, and the bench connects every 2 ms until a connection
succeeds (the moment the database is reachable again, `reachable`), then polls every 2 ms
until the message published during the outage is stored (`stored`). `resume_ms` is
`stored - reachable`: the bridge's probe interval, its reconnect to the broker, the broker's
redelivery and the commit. The issue's goal is under 1 s.

Bounded (timeouts on every wait), only 127.0.0.1, cleans up its directory. Prints ONE JSON
object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.devices import fault_world  # noqa: E402

from support import BenchError, note  # noqa: E402

POLL = 0.002
TIMEOUT = 60.0


def _until(check: Any, what: str, poll: float = POLL) -> float:
    """Poll `check` until true; the monotonic time it first was."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(poll)


def _connects(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=1).close()
    except psycopg.OperationalError:
        return False
    return True


def _stored(url: str, key: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=1) as conn:
            row = conn.execute(
                "SELECT 1 FROM devices_deviceevent e JOIN devices_device d ON d.id = e.device_id "
                "WHERE d.key = %s LIMIT 1",
                [key],
            ).fetchone()
    except psycopg.OperationalError:
        return False
    return row is not None


def _state(var_dir: Path, client_id: str) -> str:
    try:
        data = json.loads((var_dir / "ingest" / f"{client_id}.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("state", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outages", type=int, default=5)
    parser.add_argument("--down", type=float, default=2.0, help="seconds each outage lasts")
    args = parser.parse_args()
    missing = fault_world.missing_binaries()
    if missing:
        raise BenchError(f"needs {', '.join(missing)}")
    load_before = os.getloadavg()[0]
    resumes: list[float] = []
    note("starting Mosquitto and PostgreSQL")
    with fault_world.world() as (broker, postgres, env):
        run = uuid.uuid4().hex[:8]
        env = env | {"SHOUWANG_MQTT_TOPICS": f"zigbee2mqtt=zigbee2mqtt/{run}/#"}
        var_dir, client_id = Path(env["SHOUWANG_VAR_DIR"]), env["SHOUWANG_MQTT_CLIENT_ID"]
        bridge = fault_world.BridgeProcess(env)
        bridge.wait_for("ready")
        try:
            for n in range(args.outages):
                warm = f"{run}/warm{n}"
                fault_world.publish(broker.port, [(f"zigbee2mqtt/{warm}", fault_world.payload(n))])
                _until(lambda k=warm: _stored(postgres.url, k), "the warm-up message", 0.01)
                postgres.stop()
                probe = f"{run}/outage{n}"
                fault_world.publish(broker.port, [(f"zigbee2mqtt/{probe}", fault_world.payload(n))])
                _until(
                    lambda: _state(var_dir, client_id) == "database unreachable",
                    "the bridge to notice",
                    0.01,
                )
                time.sleep(args.down)
                postgres.resume(wait=False)
                reachable = _until(lambda: _connects(postgres.url), "PostgreSQL to accept")
                stored = _until(lambda k=probe: _stored(postgres.url, k), "the outage's message")
                resumes.append((stored - reachable) * 1000)
                note(f"outage {n + 1}: resumed {resumes[-1]:.0f} ms after PostgreSQL answered")
        finally:
            bridge.process.terminate()
            bridge.finish()
    result = {
        "bench": "db_resume",
        "outages": args.outages,
        "down_s": args.down,
        "resume_ms": [round(r, 1) for r in resumes],
        "resume_ms_median": round(statistics.median(resumes), 1),
        "resume_ms_max": round(max(resumes), 1),
        "targets": {"resume_under_ms": 1000, "met": max(resumes) < 1000},
        "cpus": os.cpu_count(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
