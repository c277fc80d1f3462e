"""Door opening to alert on the console: latency from the ingest request to the SSE event.

Runs the embedded shape: `shouwang serve` (uvicorn, SQLite in WAL) in a subprocess with a fresh
SHOUWANG_VAR_DIR, seeded by `bench/seed.py alert-latency`. Then, all on 127.0.0.1:
- a console: one SSE client on /alerts/stream, logged in as the seeded worker;
- background load: door events for sensors of households under no watch, posted to
  /api/v1/ingest/generic in batches (default 500 events/s as 10 batches of 50), over a few
  keep-alive connections, on a fixed schedule;
- probes: one door-open event at a time for a quarantined household (each probe its own
  household, so each opens a new alert), timed from just before the request is written to the
  moment the console has read the alert's event.

Prints ONE JSON object (milliseconds): p50/p99 from the probe's request to its alert on the
console, and, for comparison, to the ingest answer (200 after commit). Bounded: a fixed number
of probes, a time limit, and the server is stopped at the end. Needs nothing beyond the
standard library and the project.

    .venv/bin/python bench/alert_latency.py [--rate 500] [--probes 200] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
SHOUWANG = ROOT / ".venv" / "bin" / "shouwang"


# --- A small HTTP/1.1 client (keep-alive, Content-Length and chunked bodies) ------------------


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def head(self) -> tuple[int, dict[str, str]]:
        assert self.reader is not None
        status = int((await self.reader.readline()).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _sep, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    async def chunk(self) -> bytes:
        assert self.reader is not None
        size = int((await self.reader.readline()).strip() or b"0", 16)
        data = await self.reader.readexactly(size) if size else b""
        await self.reader.readline()
        return data

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        self.send(method, path, body, headers)
        status, response_headers = await self.head()
        assert self.reader is not None
        if "content-length" in response_headers:
            data = await self.reader.readexactly(int(response_headers["content-length"]))
        elif response_headers.get("transfer-encoding") == "chunked":
            parts = []
            while part := await self.chunk():
                parts.append(part)
            data = b"".join(parts)
        else:
            data = b""
        return status, data


# --- The run ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Bench:
    def __init__(self, args: argparse.Namespace, port: int, seed: dict[str, Any]) -> None:
        self.args = args
        self.port = port
        self.auth = {
            "Authorization": f"Bearer {seed['ingest_key']}",
            "Content-Type": "application/json",
        }
        self.session = seed["session"]
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.background_sent = 0
        self.background_errors = 0
        self.background_late = 0
        self.ids = itertools.count()
        self.console_ready = asyncio.Event()
        self.stop = asyncio.Event()

    async def console(self) -> None:
        """The worker's open console: reads events, notes when each new alert arrives."""
        conn = Connection(self.port)
        await conn.open()
        conn.send("GET", "/alerts/stream", headers={"Cookie": f"sessionid={self.session}"})
        status, _headers = await conn.head()
        if status != 200:
            raise RuntimeError(f"the stream answered {status}")
        buffer = ""
        try:
            while True:
                data = await conn.chunk()
                now = time.perf_counter()
                if not data:
                    return
                buffer += data.decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
                    if fields.get("event") == "snapshot":
                        self.console_ready.set()
                    elif fields.get("event") == "alert":
                        payload = json.loads(fields["data"])
                        if payload.get("reason") == "opened":
                            door = str(payload["title"])[-5:]
                            self.arrived.setdefault(door, now)
                            future = self.waiting.pop(door, None)
                            if future is not None and not future.done():
                                future.set_result(now)
        finally:
            await conn.close()

    async def background(self) -> None:
        """Door events of unwatched sensors, in batches on a fixed schedule, spread over a few
        connections so that one slow answer does not hold the schedule back."""
        args = self.args
        per_second = args.rate / args.batch
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(args.connections):
            conn = Connection(self.port)
            await conn.open()
            pool.put_nowait(conn)
        tasks: set[asyncio.Task[None]] = set()

        async def post(batch: list[dict[str, Any]]) -> None:
            conn = await pool.get()
            try:
                status, _body = await conn.request(
                    "POST", "/api/v1/ingest/generic", json.dumps(batch).encode(), self.auth
                )
                if status == 200:
                    self.background_sent += len(batch)
                else:
                    self.background_errors += 1
            finally:
                pool.put_nowait(conn)

        start = time.perf_counter()
        for n in itertools.count():
            if self.stop.is_set():
                break
            due = start + n / per_second
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:
                self.background_late += 1
            batch = []
            for _ in range(args.batch):
                i = next(self.ids)
                device = i % args.background
                batch.append(
                    {
                        "device": f"bg-{device:04d}",
                        "door": "open" if (i // args.background) % 2 == 0 else "closed",
                        "id": f"bg{i}",
                    }
                )
            task = asyncio.create_task(post(batch))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)
        while not pool.empty():
            await pool.get_nowait().close()

    async def probes(self) -> tuple[list[float], list[float], int]:
        """Latencies to the console's event, latencies to the ingest answer (both ms), lost."""
        conn = Connection(self.port)
        await conn.open()
        latencies: list[float] = []
        answers: list[float] = []
        lost = 0
        loop = asyncio.get_running_loop()
        try:
            for i in range(self.args.probes):
                door = f"P{i:04d}"
                future: asyncio.Future[float] = loop.create_future()
                self.waiting[door] = future
                body = json.dumps({"device": f"probe-{i:04d}", "door": "open", "id": f"p{i}"})
                started = time.perf_counter()
                status, answer = await conn.request(
                    "POST", "/api/v1/ingest/generic", body.encode(), self.auth
                )
                answers.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"probe ingest answered {status}: {answer[:200]!r}")
                try:
                    arrived = await asyncio.wait_for(future, timeout=5)
                except TimeoutError:
                    lost += 1
                else:
                    latencies.append((arrived - started) * 1000)
                await asyncio.sleep(self.args.interval)
        finally:
            await conn.close()
        return latencies, answers, lost

    async def run(self) -> dict[str, Any]:
        console = asyncio.create_task(self.console())
        await asyncio.wait_for(self.console_ready.wait(), timeout=10)
        load = asyncio.create_task(self.background()) if self.args.rate > 0 else None
        await asyncio.sleep(self.args.warmup)
        load_started = time.perf_counter()
        sent_before = self.background_sent
        latencies, answers, lost = await self.probes()
        elapsed = time.perf_counter() - load_started
        sent = self.background_sent - sent_before
        self.stop.set()
        if load is not None:
            await asyncio.wait_for(load, timeout=10)
        console.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await console
        return {
            "probes": len(latencies),
            "lost": lost,
            "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 2) if latencies else None,
            "max_ms": round(max(latencies), 2) if latencies else None,
            "ingest_answer_p50_ms": round(statistics.median(answers), 2),
            "ingest_answer_p99_ms": round(percentile(answers, 99), 2),
            "background_events_per_s": round(sent / elapsed, 1),
            "background_target_per_s": self.args.rate,
            "background_errors": self.background_errors,
            "background_late_batches": self.background_late,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=500, help="background door events per second")
    parser.add_argument("--batch", type=int, default=50, help="events per background request")
    parser.add_argument("--connections", type=int, default=4, help="background connections")
    parser.add_argument("--background", type=int, default=500, help="unwatched sensors")
    parser.add_argument("--probes", type=int, default=200, help="probe door openings")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between probes")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before probes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not 0 < args.probes <= 2000 or args.rate > 20000:
        parser.error("bounded: 1-2000 probes, at most 20000 events/s")

    load_before = os.getloadavg()
    var_dir = Path(tempfile.mkdtemp(prefix="shouwang-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SHOUWANG_DATABASE_URL", "SHOUWANG_REDIS_URL", "SHOUWANG_MQTT_URL")
    }
    env |= {"SHOUWANG_VAR_DIR": str(var_dir), "SHOUWANG_LOG_LEVEL": "WARNING"}
    server: subprocess.Popen[bytes] | None = None
    try:
        # Only our own executable, with arguments built here.
        print(f"seeding {var_dir}", file=sys.stderr)
        subprocess.run(  # noqa: S603
            [SHOUWANG, "migrate", "-v0"], env=env, check=True, cwd=var_dir, timeout=300
        )
        seeded = subprocess.run(  # noqa: S603
            [
                ROOT / ".venv" / "bin" / "python",
                ROOT / "bench" / "seed.py",
                "alert-latency",
                f"--probes={args.probes}",
                f"--background={args.background}",
            ],
            env=env,
            check=True,
            cwd=var_dir,
            timeout=600,
            capture_output=True,
        )
        seed = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
        port = free_port()
        log = (var_dir / "serve.log").open("wb")
        server = subprocess.Popen(  # noqa: S603
            [SHOUWANG, "serve", "--no-migrate", "--host", HOST, "--port", str(port)],
            env=env,
            cwd=var_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("shouwang serve did not start; see serve.log") from None
                time.sleep(0.1)
        print(f"serving on {HOST}:{port}; measuring", file=sys.stderr)
        limit = args.warmup + args.probes * (args.interval + 5) + 30
        result = asyncio.run(asyncio.wait_for(Bench(args, port, seed).run(), timeout=limit))
        result |= {
            "shape": "embedded: one `shouwang serve`, SQLite (WAL), in-process live bus",
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(result))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"kept {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
