"""Door opening to alert delivered: the product's headline claim, measured from outside.

    .venv/bin/python bench/door_to_alert.py --db sqlite|postgres|both
        [--rates 0,500,1000,2000,5000] [--events 200] [--interval 0.1] [--floor-events 100]

The method is that of `../shared/tools/door_latency.py`: Zigbee2MQTT-shaped door sensors
(`<base>/door_<i>`, `{"contact": bool, "battery": …, "linkquality": …}`) on the real local
Mosquitto, and `shouwang serve` with the MQTT bridge in-process (SQLite in WAL; or PostgreSQL
with Redis as the live bus) storing every event. Its JSON webhook channel (json://, no rate
limit) points at a receiver in this bench, and a worker's console reads `/alerts/stream` (SSE).

Per background rate, with unwatched sensors toggling at that many messages/s (published from a
separate process, so this loop only times):
- floor: the bench subscribes to its own topic and POSTs to its own receiver over a kept-alive
  connection, the broker + HTTP floor that no system can beat, measured under the same load;
- system: each timed event opens a watched door (each on its own household, so each opens a
  new alert, as a real door would with no open alert); latency from the publish to the
  webhook's arrival and to the console's SSE event. Closed again afterwards.
Every message is counted against the events stored in the database at the end.

The server writes one trace line per first attempt (SHOUWANG_NOTIFY_TRACE_FILE: monotonic
timestamps of the steps, no personal data); CLOCK_MONOTONIC is shared by the processes of one
machine, so the bench joins them to its publish times and reports the per-step breakdown.

Prints ONE JSON object; progress goes to stderr. Bounded: a fixed number of events per rate,
timeouts everywhere, only 127.0.0.1, temporary directory and database removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiomqtt
from aiohttp import ClientSession, ClientTimeout, web

from ingest import Database, background, cpu_seconds, manage, wait_for
from support import BenchError, free_port, listening, note

ROOT = Path(__file__).resolve().parent.parent
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
REDIS_URL = "redis://127.0.0.1:6379/0"
DOOR = re.compile(r"door_\d+")
ALERT_ID = re.compile(r"/alerts/(\d+)/")
TARGETS = {500: 10.0, 5000: 50.0}  # background msg/s: p99 ms to reach (issue 13)
# The trace's steps in path order (see shouwang.alerts.notify.trace).
STEPS = ("received", "opened", "planned", "committed", "taken", "request", "response", "recorded")


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": pct(values, 50),
        "p90_ms": pct(values, 90),
        "p99_ms": pct(values, 99),
        "max_ms": round(max(values), 2) if values else None,
    }


def state(contact: bool, battery: int = 90) -> bytes:
    return json.dumps({"contact": contact, "battery": battery, "linkquality": 120}).encode()


# --- background traffic, from its own process ------------------------------------------------


def _background_process(
    base: str, first: int, last: int, rate: float, battery: int, sent: Any, stop: Any
) -> None:
    """Unwatched sensors toggling at `rate` messages/s in total, until `stop` is set. Each
    rate's battery level differs, so no message repeats the one before it for its sensor (a
    repeated Z2M payload is taken for a redelivery, rightly)."""

    async def run() -> None:
        others = list(range(first, last))
        doors = dict.fromkeys(others, True)
        step = 1.0 / rate
        async with aiomqtt.Client(
            MQTT_HOST, MQTT_PORT, identifier=f"bench-bg-{secrets.token_hex(4)}"
        ) as client:
            t_next = time.perf_counter()
            n = 0
            while not stop.is_set():
                i = others[n % len(others)] if n % 7 else others[(n * 31) % len(others)]
                n += 1
                doors[i] = not doors[i]
                await client.publish(f"{base}/door_{i}", state(doors[i], battery), qos=0)
                sent.value += 1
                t_next += step
                delay = t_next - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -1:
                    t_next = time.perf_counter()  # cannot keep up: do not burst

    asyncio.run(run())


class Background:
    def __init__(self, base: str, first: int, last: int, rate: float, battery: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.sent = context.Value("q", 0)
        self.stop = context.Event()
        self.process = (
            context.Process(
                target=_background_process,
                args=(base, first, last, rate, battery, self.sent, self.stop),
                daemon=True,
            )
            if rate > 0
            else None
        )

    def __enter__(self) -> Background:
        if self.process is not None:
            self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.process is not None:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()

    def count(self) -> int:
        return int(self.sent.value)


# --- the measuring loop --------------------------------------------------------------------------


class Run:
    """One database's run: receiver, console, publisher; the rates one after the other."""

    def __init__(
        self, args: argparse.Namespace, base: str, port: int, receiver: int, seed: dict[str, Any]
    ) -> None:
        self.args = args
        self.base = base
        self.floor_base = f"{base}-floor"
        self.port = port
        self.receiver_port = receiver
        self.session_id = seed["session"]
        self.webhook: dict[str, float] = {}  # door -> arrival
        self.console: dict[str, float] = {}
        self.floor: dict[str, float] = {}
        self.alert_of: dict[str, int] = {}  # door -> alert id (from the webhook's link)
        self.waiters: dict[tuple[str, str], asyncio.Event] = {}
        self.unexpected = 0
        self.published = 0  # messages for the server's sensors, timed ones included
        self.published_rates: list[int] = []
        self.console_ready = asyncio.Event()

    def _arrived(self, where: str, door: str, now: float) -> None:
        book = {"webhook": self.webhook, "console": self.console, "floor": self.floor}[where]
        if door in book:
            self.unexpected += 1
            return
        book[door] = now
        waiter = self.waiters.get((where, door))
        if waiter is not None:
            waiter.set()

    async def _alert(self, request: web.Request) -> web.Response:
        now = time.perf_counter()
        raw = await request.text()
        match = DOOR.search(raw)
        if match is None:
            self.unexpected += 1
        else:
            found = ALERT_ID.search(raw)
            if found:
                self.alert_of[match.group(0)] = int(found.group(1))
            self._arrived("webhook", match.group(0), now)
        return web.Response(text="ok")

    async def _floor(self, request: web.Request) -> web.Response:
        now = time.perf_counter()
        self._arrived("floor", str((await request.json())["sensor"]), now)
        return web.Response(text="ok")

    async def _console(self) -> None:
        timeout = ClientTimeout(total=None, sock_read=None)
        async with (
            ClientSession(timeout=timeout) as http,
            http.get(
                f"http://127.0.0.1:{self.port}/alerts/stream",
                headers={"Cookie": f"sessionid={self.session_id}"},
            ) as response,
        ):
            if response.status != 200:
                raise BenchError(f"the console stream answered {response.status}")
            event = ""
            async for line in response.content:
                now = time.perf_counter()
                text = line.decode().rstrip("\n")
                if text.startswith("event: "):
                    event = text[7:]
                    if event == "snapshot":
                        self.console_ready.set()
                elif text.startswith("data: ") and event == "alert":
                    payload = json.loads(text[6:])
                    match = DOOR.search(str(payload.get("title", "")))
                    if payload.get("reason") == "opened" and match:
                        self._arrived("console", match.group(0), now)

    async def _floor_loop(self) -> None:
        async with (
            aiomqtt.Client(
                MQTT_HOST, MQTT_PORT, identifier=f"bench-floor-{secrets.token_hex(4)}"
            ) as sub,
            ClientSession() as http,
        ):
            await sub.subscribe(f"{self.floor_base}/#", qos=0)
            async for message in sub.messages:
                name = str(message.topic).rsplit("/", 1)[1]
                payload = message.payload
                assert isinstance(payload, bytes)
                if json.loads(payload).get("contact") is False:
                    url = f"http://127.0.0.1:{self.receiver_port}/floor"
                    async with http.post(url, json={"sensor": name}) as answer:
                        await answer.read()

    async def _wait(self, where: str, door: str) -> bool:
        book = {"webhook": self.webhook, "console": self.console, "floor": self.floor}[where]
        if door in book:
            return True
        event = self.waiters[(where, door)] = asyncio.Event()
        try:
            await asyncio.wait_for(event.wait(), self.args.timeout)
        except TimeoutError:
            return False
        return True

    async def _timed(
        self, mq: aiomqtt.Client, base: str, door: str, places: tuple[str, ...]
    ) -> tuple[float, dict[str, bool]]:
        started = time.perf_counter()
        await mq.publish(f"{base}/{door}", state(False), qos=self.args.qos)
        arrived = await asyncio.gather(*(self._wait(w, door) for w in places))
        await mq.publish(f"{base}/{door}", state(True), qos=self.args.qos)
        return started, dict(zip(places, arrived, strict=True))

    async def _series(
        self, mq: aiomqtt.Client, base: str, doors: list[str], places: tuple[str, ...]
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Open each door in turn, `interval` apart, several in flight; publish times, lost."""
        started: dict[str, float] = {}
        lost = dict.fromkeys(places, 0)
        tasks = []
        for door in doors:
            tasks.append(asyncio.create_task(self._timed(mq, base, door, places)))
            await asyncio.sleep(self.args.interval)
        for door, task in zip(doors, tasks, strict=True):
            at, arrived = await task
            started[door] = at
            for place, ok in arrived.items():
                lost[place] += not ok
        return started, lost

    async def measure(self, server_pid: int, trace: Path) -> list[dict[str, Any]]:
        args = self.args
        app = web.Application()
        app.router.add_post("/alert", self._alert)
        app.router.add_post("/floor", self._floor)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.receiver_port).start()
        console = asyncio.create_task(self._console())
        floor = asyncio.create_task(self._floor_loop())
        results = []
        try:
            await asyncio.wait_for(self.console_ready.wait(), 30)
            async with aiomqtt.Client(
                MQTT_HOST, MQTT_PORT, identifier=f"bench-pub-{secrets.token_hex(4)}"
            ) as mq:
                for i in range(args.sensors_total):  # every sensor starts closed
                    await mq.publish(f"{self.base}/door_{i}", state(True), qos=args.qos)
                    self.published += 1
                await asyncio.sleep(1.0)
                next_watched = 0
                for rate in args.rates:
                    doors = [f"door_{next_watched + i}" for i in range(args.events)]
                    next_watched += args.events
                    results.append(await self._rate(mq, rate, doors, server_pid, trace))
        finally:
            for task in (console, floor):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await runner.cleanup()
        return results

    async def _rate(
        self, mq: aiomqtt.Client, rate: int, doors: list[str], server_pid: int, trace: Path
    ) -> dict[str, Any]:
        args = self.args
        note(f"background {rate} msg/s: floor, then {len(doors)} door openings")
        battery = 10 + len(self.published_rates)
        self.published_rates.append(rate)
        with Background(self.base, args.watched_total, args.sensors_total, rate, battery) as load:
            await asyncio.sleep(args.warmup)
            floor_doors = [f"door_{i}" for i in range(args.floor_events)]
            self.floor.clear()
            floor_started, floor_lost = await self._series(
                mq, self.floor_base, floor_doors, ("floor",)
            )
            floor = [
                (self.floor[d] - floor_started[d]) * 1000 for d in floor_doors if d in self.floor
            ]
            trace_from = trace.stat().st_size if trace.exists() else 0
            cpu0, t0, sent0 = cpu_seconds(server_pid), time.perf_counter(), load.count()
            started, lost = await self._series(mq, self.base, doors, ("webhook", "console"))
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(server_pid) - cpu0
            achieved = (load.count() - sent0) / elapsed
        self.published += load.count() + 2 * len(doors)
        webhook = [(self.webhook[d] - started[d]) * 1000 for d in doors if d in self.webhook]
        console = [(self.console[d] - started[d]) * 1000 for d in doors if d in self.console]
        result: dict[str, Any] = {
            "background_target_per_s": rate,
            "background_achieved_per_s": round(achieved, 1),
            "events": len(doors),
            "floor": {**summary(floor), "events": len(floor_doors), "lost": floor_lost["floor"]},
            "webhook": {**summary(webhook), "lost": lost["webhook"]},
            "console": {**summary(console), "lost": lost["console"]},
            "server_cpu_s": round(cpu, 2),
            "server_cpu_share": round(cpu / elapsed, 2),
        }
        floor_p99, webhook_p99 = result["floor"]["p99_ms"], result["webhook"]["p99_ms"]
        if floor_p99 and webhook_p99:
            result["webhook_p99_over_floor_p99"] = round(webhook_p99 / floor_p99, 1)
        result["steps"] = self._steps(trace, trace_from, started)
        return result

    def _steps(self, trace: Path, offset: int, started: dict[str, float]) -> dict[str, Any]:
        """The per-step breakdown from the server's trace lines of this rate's deliveries."""
        if not trace.exists():
            return {"note": "no trace written by the server"}
        with trace.open() as lines:
            lines.seek(offset)
            traces = [json.loads(line) for line in lines if line.strip()]
        by_alert = {t["alert"]: t for t in traces}
        gaps: dict[str, list[float]] = defaultdict(list)
        for door, alert_id in self.alert_of.items():
            trace_line = by_alert.get(alert_id)
            if trace_line is None or door not in started:
                continue
            marks = {"published": started[door], **trace_line["t"]}
            previous = "published"
            for step in STEPS:
                if step in marks:
                    gaps[f"{previous}→{step}"].append((marks[step] - marks[previous]) * 1000)
                    previous = step
        return {
            name: {"p50_ms": pct(values, 50), "p99_ms": pct(values, 99), "n": len(values)}
            for name, values in gaps.items()
        }


# --- one database ----------------------------------------------------------------------------


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix=f"shouwang-door-{kind}-"))
    db = Database(kind, var_dir)
    base = f"bench-{secrets.token_hex(3)}/z2m"
    port, receiver = free_port(), free_port()
    trace = var_dir / "trace.jsonl"
    try:
        db.create()
        env = db.env() | {
            "SHOUWANG_LOG_LEVEL": "WARNING",
            "SHOUWANG_MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
            "SHOUWANG_MQTT_TOPICS": f"zigbee2mqtt={base}/#",
            "SHOUWANG_MQTT_CLIENT_ID": f"bench-{secrets.token_hex(4)}",
            "SHOUWANG_MQTT_SESSION_EXPIRY": "60",
            "SHOUWANG_NOTIFY_TRACE_FILE": str(trace),
        }
        if kind == "postgres":
            env["SHOUWANG_REDIS_URL"] = REDIS_URL
        note(f"{kind}: migrating and seeding {args.sensors_total} sensors in {var_dir}")
        manage(env, "migrate", "-v0")
        seeded = subprocess.run(  # noqa: S603 - our own script
            [
                sys.executable,
                str(ROOT / "bench" / "seed.py"),
                "door",
                f"--sensors={args.sensors_total}",
                f"--watched={args.watched_total}",
                f"--webhook=json://127.0.0.1:{receiver}/alert",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if seeded.returncode != 0:
            raise BenchError(f"seeding failed: {seeded.stderr[-2000:]}")
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        with background(
            env,
            var_dir / "serve.log",
            "serve",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ) as server:
            wait_for(lambda: listening(port), "shouwang serve", 60, server)
            time.sleep(1.0)  # the bridge subscribes after the web server listens
            note(f"{kind}: serving on {port}; measuring")
            run = Run(args, base, port, receiver, seed)
            rates = asyncio.run(run.measure(server.pid, trace))
            with db.connect() as connection:
                deadline = time.monotonic() + args.timeout + 30
                while (stored := db.count_events(connection)) < run.published:
                    if time.monotonic() > deadline or server.poll() is not None:
                        break
                    time.sleep(0.2)
        return {
            "rates": rates,
            "messages_published": run.published,
            "events_stored": stored,
            "every_event_stored": stored == run.published,
            "unexpected_arrivals": run.unexpected,
        }
    except BenchError as exc:
        log = var_dir / "serve.log"
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
        return {"error": str(exc), "serve_log_tail": tail}
    finally:
        db.drop()
        if args.keep:
            note(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


def targets(result: dict[str, Any]) -> dict[str, Any]:
    checks = {}
    for kind, run in result.items():
        for rate in run.get("rates", []):
            goal = TARGETS.get(rate["background_target_per_s"])
            if goal is None:
                continue
            p99 = rate["webhook"]["p99_ms"]
            checks[f"{kind}@{rate['background_target_per_s']}"] = {
                "goal_p99_ms": goal,
                "webhook_p99_ms": p99,
                "met": p99 is not None
                and p99 <= goal
                and rate["webhook"]["lost"] == 0
                and bool(run.get("every_event_stored")),
            }
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rates", default="0,500,1000,2000,5000", help="background msg/s list")
    parser.add_argument("--events", type=int, default=200, help="timed door openings per rate")
    parser.add_argument("--interval", type=float, default=0.1, help="s between timed openings")
    parser.add_argument("--floor-events", type=int, default=100, help="floor openings per rate")
    parser.add_argument("--background-sensors", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=10.0, help="s before an event is lost")
    parser.add_argument("--warmup", type=float, default=2.0, help="s of background before timing")
    parser.add_argument("--qos", type=int, choices=[0, 1], default=0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if not 0 < args.events <= 1000 or any(r < 0 or r > 20000 for r in args.rates):
        parser.error("bounded: 1-1000 events per rate, 0-20000 msg/s")
    if not 0 < args.floor_events <= args.events:
        parser.error("--floor-events: 1 … --events")
    # Each opening on its own household: one open alert per subject is the product's promise,
    # so a door opened again before its alert is resolved adds an occurrence, not an alert.
    args.watched_total = args.events * len(args.rates)
    args.sensors_total = args.watched_total + args.background_sensors
    load_before = os.getloadavg()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    result = {kind: run_database(kind, args) for kind in kinds}
    print(
        json.dumps(
            {
                "bench": "door_to_alert",
                "method": "Z2M door sensors on Mosquitto → shouwang serve (bridge in-process) →"
                " json:// webhook and SSE console; floor = broker + HTTP in the same run",
                "databases": result,
                "targets": targets(result),
                "cpus": os.cpu_count(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "command": " ".join(["bench/door_to_alert.py", *sys.argv[1:]]),
            }
        )
    )


if __name__ == "__main__":
    main()
