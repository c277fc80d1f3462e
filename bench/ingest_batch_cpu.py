"""CPU per ingest batch: what one small batch costs the writer, whatever else the machine does.

    .venv/bin/python bench/ingest_batch_cpu.py [--db sqlite|postgres|both] [--batches 1000]

At a few hundred door messages a second over MQTT, each batch holds one or two messages, so
the fixed cost of a batch (its transaction, the device look-up, the alert rules) decides how
busy the single writer is, and with it how long the next door opening waits. Wall-clock
latency benches cannot show that cost on a shared 2-core machine; CPU time (`process_time`)
of the same calls barely moves with other load.

For each database, in a temporary SHOUWANG_VAR_DIR (PostgreSQL: a bench database created and
dropped), a child process with Django set up runs `devices.services.ingest.ingest` directly:

- `unwatched_door`: one door message of an installed sensor in a household not under
  quarantine (open and close in turn), the common batch;
- `unwatched_door_x8`: eight such messages of eight sensors in one batch (per message);
- `alerting_door`: one door opening in a quarantined household, opening a new alert (no
  notification channel: delivery is door_to_alert.py's business);
- `raw_insert`, the baseline: one row shaped like an event inserted and committed through the
  driver (`sqlite3` with WAL and synchronous=NORMAL, or `psycopg`) on its own connection.

Each figure is the median of three runs of `--batches` batches (fewer for `alerting_door`), in
CPU milliseconds of the whole child process per batch (or per message); `ratio_to_raw` divides
it by the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest import Database, manage
from support import BenchError, note

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _cpu_ms_per(calls: int, run: Callable[[int], None], offset: int) -> float:
    start = time.process_time()
    for i in range(offset, offset + calls):
        run(i)
    return (time.process_time() - start) / calls * 1000


def _median_of_three(calls: int, run: Callable[[int], None]) -> float:
    run_offsets = [calls * (r + 1) for r in range(3)]
    for i in range(min(calls, 100)):  # warm-up: caches, prepared statements
        run(i)
    return round(statistics.median(_cpu_ms_per(calls, run, o) for o in run_offsets), 3)


def child(batches: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()
    from django.db import connection

    from shouwang.core.models import AreaKind
    from shouwang.core.services.areas import create_area
    from shouwang.core.services.people import create_household
    from shouwang.devices.adapters import Reading
    from shouwang.devices.services.ingest import Incoming, ingest
    from shouwang.devices.services.lifecycle import install_device, register_device
    from shouwang.quarantine.models import Watch, WatchKind

    district = create_area(None, None, "基准区", AreaKind.DISTRICT)
    street = create_area(None, district, "基准街道", AreaKind.STREET)
    community = create_area(None, street, "基准社区", AreaKind.COMMUNITY)
    compound = create_area(None, community, "基准小区", AreaKind.COMPOUND)
    building = create_area(None, compound, "1号楼", AreaKind.BUILDING)

    def sensor(key: str, door: str) -> str:
        household = create_household(None, building, door)
        install_device(None, register_device(None, "generic", key, community), household)
        return key

    quiet = [sensor(f"quiet-{i}", f"{100 + i}") for i in range(8)]
    alerting_calls = max(50, batches // 10)
    watched = []
    for i in range(alerting_calls * 4 + 100):
        key = sensor(f"watched-{i}", f"{1000 + i}")
        watched.append(key)
    for household_id in _households_of(watched):
        Watch.objects.create(
            kind=WatchKind.QUARANTINE,
            household_id=household_id,
            starts_at=T0 - timedelta(days=1),
            ends_at=T0 + timedelta(days=13),
        )

    def message(key: str, i: int, door: str) -> Incoming:
        at = T0 + timedelta(milliseconds=i)
        reading = Reading(
            adapter="generic",
            device_key=key,
            event_time=at,
            door=door,
            dedup_key=f"{key}-{i}",
            raw={"door": door},
        )
        return Incoming(reading, at)

    def unwatched(i: int) -> None:
        ingest([message(quiet[0], i, "open" if i % 2 else "closed")], "mqtt")

    def unwatched_x8(i: int) -> None:
        door = "open" if i % 2 else "closed"
        ingest([message(key, i, door) for key in quiet], "mqtt")

    def alerting(i: int) -> None:
        ingest([message(watched[i], i, "open")], "mqtt")

    def raw_insert(i: int) -> None:
        raw_cursor.execute(insert, raw_row(i))
        raw.commit()

    results: dict[str, Any] = {
        "unwatched_door": _median_of_three(batches, unwatched),
        "unwatched_door_x8": round(_median_of_three(batches // 4, unwatched_x8) / 8, 3),
        "alerting_door": _median_of_three(alerting_calls, alerting),
    }
    from shouwang.devices.models import Device

    device_id = Device.objects.get(key=quiet[0]).pk
    if connection.vendor == "postgresql":
        import psycopg

        raw = psycopg.connect(os.environ["SHOUWANG_DATABASE_URL"])
        placeholder = "%s"
    else:
        import sqlite3

        raw = sqlite3.connect(connection.settings_dict["NAME"], isolation_level="DEFERRED")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        placeholder = "?"
    raw_cursor = raw.cursor()
    values = ", ".join([placeholder] * 9)
    insert = (
        "INSERT INTO devices_deviceevent (device_id, received_at, event_time, kind, door,"  # noqa: S608
        f" stale, dedup_key, transport, raw) VALUES ({values})"
    )

    def raw_row(i: int) -> tuple[Any, ...]:
        at = (T0 + timedelta(days=30, milliseconds=i)).isoformat(" ")
        return (device_id, at, at, "door", "open", False, f"raw-{i}", "mqtt", '{"door": "open"}')

    results["raw_insert"] = _median_of_three(batches, raw_insert)
    raw.close()
    results["ratio_to_raw"] = {
        key: round(value / results["raw_insert"], 1)
        for key, value in results.items()
        if key != "raw_insert"
    }
    return results


def _households_of(keys: list[str]) -> list[int]:
    from shouwang.devices.models import Device

    found = dict(Device.objects.filter(key__in=keys).values_list("key", "household_id"))
    return [found[key] for key in keys]


def run_database(kind: str, batches: int) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix=f"shouwang-batch-cpu-{kind}-"))
    db = Database(kind, var_dir)
    try:
        db.create()
        env = db.env() | {"SHOUWANG_LOG_LEVEL": "WARNING"}
        note(f"{kind}: migrating")
        manage(env, "migrate", "-v0")
        note(f"{kind}: measuring {batches} batches of each kind")
        done = subprocess.run(  # noqa: S603 - this very script
            [sys.executable, __file__, "--child", f"--batches={batches}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"the measuring child failed: {done.stderr[-3000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        db.drop()
        shutil.rmtree(var_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.batches)))
        return
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    before = os.getloadavg()
    results = {kind: run_database(kind, args.batches) for kind in kinds}
    print(
        json.dumps(
            {
                "bench": "ingest_batch_cpu",
                "unit": "CPU ms of the process per batch (x8: per message)",
                "cpus": os.cpu_count(),
                "load_average_1m": [round(before[0], 2), round(os.getloadavg()[0], 2)],
                "batches": args.batches,
                "run": secrets.token_hex(3),
                "databases": results,
                "command": "bench/ingest_batch_cpu.py " + " ".join(sys.argv[1:]),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
