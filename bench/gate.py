"""Gate verifications per second: the verify API under an open-loop load of concurrent clients.

    .venv/bin/python bench/gate.py [--db sqlite|postgres] [--rate 500] [--seconds 10]
                                   [--clients 16] [--workers 1] [--passes 2000]

In a temporary SHOUWANG_VAR_DIR (and, for PostgreSQL, a bench database created for the run and
dropped after it): migrate, seed one compound with --passes residents and their signed passes
(plus a few revoked ones) and one gate device; then serve the app (`shouwang serve --web-only`,
or uvicorn with --workers N > 1) on a free port and send `POST /api/v1/gate/verify` with the
device's Bearer key at a fixed rate (open loop: a request's latency counts from when it was
due, so a slow server cannot hide its queue) over --clients keep-alive connections. Each
request carries its own scan id, so every one is verified and logged as a gate would.

Bounded: --seconds of load after one second of warm-up, timeouts on every wait, only
127.0.0.1. Prints ONE JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from support import BenchError, free_port, listening, note

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
TARGET_RATE = 500.0  # verifications/s
TARGET_P99_MS = 50.0

SEED = """
import json, sys
import django
django.setup()
from shouwang.core.models import AreaKind
from shouwang.core.services.areas import create_area
from shouwang.core.services.people import PersonData, create_household, create_person
from shouwang.passes.services import gates, issue
count = int(sys.argv[1])
district = create_area(None, None, "压测区", AreaKind.DISTRICT)
street = create_area(None, district, "压测街道", AreaKind.STREET)
community = create_area(None, street, "压测社区", AreaKind.COMMUNITY)
compound = create_area(None, community, "压测小区", AreaKind.COMPOUND)
building = create_area(None, compound, "1号楼", AreaKind.BUILDING)
unit = create_area(None, building, "1单元", AreaKind.UNIT)
for n in range(count):
    home = create_household(None, unit, str(1000 + n))
    create_person(None, home, PersonData.clean(f"压测{n}号", "", ""))
issued = issue.issue_for_compound(None, compound)
for done in issued[: max(1, count // 50)]:
    issue.revoke(None, done.pass_obj, "bench")
_, key = gates.create_gate_device(None, "压测闸机", compound)
print(json.dumps({"key": key, "codes": [i.pass_obj.code for i in issued]}))
"""


def run(env: dict[str, str], args: list[str], timeout: float) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{args[:3]} failed: {done.stderr[-2000:]}")
    return done.stdout


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind != "postgres":
        yield ""
        return
    import psycopg

    name = f"shouwang_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(env: dict[str, str], port: int, workers: int, kind: str, log: Path) -> Iterator[int]:
    if kind == "uvicorn" or workers > 1:
        command = [
            "-m", "uvicorn", "shouwang.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
    else:
        command = ["-m", "shouwang", "serve", "--web-only", "--no-migrate", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, *command], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            if process.poll() is not None:
                raise BenchError(f"server exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError("server did not start within 60 s")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Connection:
    """One keep-alive HTTP/1.1 connection, as a turnstile would keep to the server."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.head = (
            "POST /api/v1/gate/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write((self.head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        length, closing = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                closing = True
        payload = await self.reader.readexactly(length)
        if closing:
            self.writer.close()
            self.writer = None
        parts = status_line.split()
        return (int(parts[1]) if len(parts) > 1 else 0), payload


async def load(
    port: int, key: str, codes: list[str], rate: float, seconds: float, clients: int
) -> dict[str, Any]:
    rng = random.Random(7)
    warmup = 1.0
    total = int((seconds + warmup) * rate)
    due: asyncio.Queue[tuple[float, bool] | None] = asyncio.Queue()
    latencies: list[float] = []
    verdicts: dict[str, int] = {}
    errors: list[str] = []
    timed_start = 0.0
    last_answer = 0.0

    async def client() -> None:
        nonlocal last_answer
        connection = Connection(port, key)
        while True:
            item = await due.get()
            if item is None:
                return
            when, timed = item
            code = rng.choice(codes) if rng.random() > 0.05 else "SW1:NOT-A-PASS"
            body = json.dumps(
                {"code": code, "scan_id": secrets.token_hex(12), "direction": "in"}
            ).encode()
            try:
                status, payload = await asyncio.wait_for(connection.post(body), 10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                errors.append(repr(exc))
                connection = Connection(port, key)
                continue
            done = time.perf_counter()
            if not timed:
                continue
            last_answer = max(last_answer, done)
            if status != 200:
                errors.append(f"{status} {payload[:200]!r}")
                continue
            latencies.append(done - when)
            reason = json.loads(payload).get("reason", "?")
            verdicts[reason] = verdicts.get(reason, 0) + 1

    workers = [asyncio.create_task(client()) for _ in range(clients)]
    start = time.perf_counter()
    for n in range(total):
        when = start + n / rate
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        timed = n >= warmup * rate
        if timed and not timed_start:
            timed_start = when
        due.put_nowait((when, timed))
    for _ in workers:
        due.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 60)
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    elapsed = (last_answer - timed_start) if last_answer else 0.0
    return {
        "offered_rate": rate,
        "requests": len(latencies) + len(errors),
        "answered": len(latencies),
        "achieved_rate": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "verdicts": verdicts,
    }


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="verifications/s offered")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed load duration")
    parser.add_argument("--clients", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--server",
        choices=["serve", "uvicorn"],
        default="serve",
        help="`shouwang serve --web-only` (access log on), or uvicorn without access log",
    )
    parser.add_argument("--passes", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="shouwang-gate-bench-"))
    result: dict[str, Any] = {}
    try:
        with database(args.db) as url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
            env |= {
                "SHOUWANG_VAR_DIR": str(var_dir),
                "PYTHONPATH": str(ROOT / "src"),
                "DJANGO_SETTINGS_MODULE": "shouwang.settings",
            }
            # Given as a URL, SQLite gets persistent connections like PostgreSQL (settings
            # parse URLs with conn_max_age=60); the bare default opens one per request,
            # which costs about 4 ms of CPU on this path.
            env["SHOUWANG_DATABASE_URL"] = url or f"sqlite:///{var_dir / 'shouwang.sqlite3'}"
            note(f"migrating and seeding {args.passes} passes ({args.db}) in {var_dir}")
            run(env, ["-m", "shouwang", "migrate", "--verbosity", "0"], timeout=600)
            seeded = json.loads(run(env, ["-c", SEED, str(args.passes)], timeout=900))
            port = free_port()
            with server(env, port, args.workers, args.server, var_dir / "server.log") as pid:
                note(
                    f"loading at {args.rate:.0f}/s for {args.seconds:.0f} s, {args.clients} clients"
                )
                cpu_before = cpu_seconds(pid)
                result = asyncio.run(
                    load(
                        port, seeded["key"], seeded["codes"], args.rate, args.seconds, args.clients
                    )
                )
                used = cpu_seconds(pid) - cpu_before
                result["server_cpu_seconds"] = round(used, 2)
                # Less sensitive to what else runs on the machine than the latencies are.
                handled = int((args.seconds + 1) * args.rate)
                result["server_cpu_ms_per_verification"] = round(used / handled * 1000, 3)
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    p99 = result.get("p99_ms")
    print(
        json.dumps(
            {
                "bench": "gate",
                "db": args.db,
                "cpus": os.cpu_count(),
                "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "clients": args.clients,
                "server": "uvicorn" if args.workers > 1 else args.server,
                "server_workers": args.workers,
                "passes": args.passes,
                "seconds": args.seconds,
                **result,
                "targets": {
                    "rate": TARGET_RATE,
                    "p99_ms": TARGET_P99_MS,
                    "met": bool(
                        p99 is not None
                        and p99 < TARGET_P99_MS
                        and result.get("achieved_rate", 0) >= 0.98 * TARGET_RATE
                        and args.rate >= TARGET_RATE
                        and not result.get("errors")
                    ),
                },
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        main()
