"""A burst of mask reservations at `shouwang serve`: achieved rate, latency, errors, oversell.

    .venv/bin/python bench/masks_burst.py [--db sqlite|postgres] [--requests 2000]
                                          [--stock 500] [--clients 50]

Seeds a round with one pickup point of `--stock` masks (one per person) in a temporary
SHOUWANG_VAR_DIR (PostgreSQL: a database created for the run and dropped after it), starts
`shouwang serve --web-only`, and fires `--requests` reservations, each with its own ID number,
from `--clients` concurrent clients. Each client first loads the form (cookie, CSRF), then posts.
The clients spread over loopback addresses 127.0.0.2… so the per-IP rate limit (60 a minute)
is not what is measured. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from support import BenchError, free_port, listening, note

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SEED = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from datetime import timedelta
from django.utils import timezone
from shouwang.core.models import AreaKind
from shouwang.core.services.areas import create_area
from shouwang.masks.services import rounds
street = create_area(None, None, "守望街道", AreaKind.STREET)
point = rounds.create_point(None, street, "卫生服务站")
now = timezone.now()
r = rounds.create_round(None, street, "压测", now - timedelta(hours=1), now + timedelta(days=1),
                        per_person=1, limit_days=7, stock={point: STOCK})
print(json.dumps({"round": r.pk, "stock": r.points.get().pk}))
"""
CHECK = """
import django, json
django.setup()
from django.db.models import Count
from shouwang.masks.models import Reservation, RoundPoint
s = RoundPoint.objects.get(pk=STOCK_PK)
per_id = Reservation.objects.values("id_index").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({"stock": s.stock, "remaining": s.remaining,
                  "reservations": Reservation.objects.count(), "double_reserved_ids": per_id}))
"""


def id_number(n: int) -> str:
    first17 = f"110105{19800101 + (n // 900) % 28:08d}{n % 900 + 100:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def run_py(code: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [PY, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise BenchError(out.stderr[-2000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def client(
    n: int, jobs: asyncio.Queue[int], base: str, round_pk: int, stock_pk: int, out: list[Any]
) -> None:
    connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{2 + n % 250}", 0))
    jar = aiohttp.CookieJar(unsafe=True)  # cookies from an IP address (the CSRF cookie)
    timeout = aiohttp.ClientTimeout(total=60)  # a stuck answer counts as an error, not a hang
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=jar, timeout=timeout
    ) as session:
        url = f"{base}/masks/{round_pk}/"
        async with session.get(url) as page:
            html = await page.text()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if token is None:
            raise BenchError("no CSRF token on the form")
        while True:
            try:
                i = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            data = {
                "csrfmiddlewaretoken": token.group(1),
                "name": f"居民{i}",
                "id_number": id_number(i),
                "phone": f"139{i:08d}",
                "stock": str(stock_pk),
                "key": secrets.token_urlsafe(24),
            }
            started = time.perf_counter()
            try:
                async with session.post(
                    url, data=data, allow_redirects=False, headers={"Referer": url}
                ) as answer:
                    body = await answer.text()
                    status = answer.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                body, status = type(exc).__name__, 0
            elapsed = time.perf_counter() - started
            code = re.search(r'data-code="([a-z_]+)"', body)
            out.append(
                (status, code.group(1) if code else body[:40] if not status else "", elapsed)
            )


async def burst(args: argparse.Namespace, base: str, ids: dict[str, int]) -> dict[str, Any]:
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        jobs.put_nowait(i)
    out: list[Any] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(client(n, jobs, base, ids["round"], ids["stock"], out) for n in range(args.clients))
    )
    wall = time.perf_counter() - started
    latencies = sorted(e for _, _, e in out)
    kinds: dict[str, int] = {}
    for status, code, _ in out:
        key = "reserved" if status == 302 else f"{status} {code}".strip()
        kinds[key] = kinds.get(key, 0) + 1

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "decided_per_s": round(len(out) / wall, 1),
        "reservations_per_s": round(kinds.get("reserved", 0) / wall, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "answers": kinds,
        "errors_5xx": sum(1 for s, _, _ in out if s >= 500),
        "no_answer": sum(1 for s, _, _ in out if s == 0),
        "seconds": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--stock", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="masks-bench-")
    env = dict(os.environ, SHOUWANG_VAR_DIR=var, DJANGO_SETTINGS_MODULE="shouwang.settings")
    env.pop("SHOUWANG_DATABASE_URL", None)
    dbname = f"shouwang_bench_{os.getpid()}_{secrets.token_hex(3)}"
    if args.db == "postgres":
        createdb = shutil.which("createdb") or "/usr/bin/createdb"
        subprocess.run([createdb, "-h", "127.0.0.1", "-U", "postgres", dbname], check=True)  # noqa: S603
        env["SHOUWANG_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{dbname}"
    server = None
    try:
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/shouwang"), "init-secrets"],
            env=env,
            check=True,
            capture_output=True,
        )
        ids = run_py(SEED.replace("STOCK", str(args.stock)), env)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [str(ROOT / ".venv/bin/shouwang"), "serve", "--web-only", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(300):
            if listening(port):
                break
            time.sleep(0.1)
        else:
            raise BenchError("the server did not start")
        note(f"firing {args.requests} reservations for {args.stock} masks")
        result = asyncio.run(burst(args, f"http://127.0.0.1:{port}", ids))
        check = run_py(CHECK.replace("STOCK_PK", str(ids["stock"])), env)
        result |= {
            "db": args.db,
            "requests": args.requests,
            "clients": args.clients,
            "stock": args.stock,
            "stored": check,
            "oversold": max(0, check["reservations"] - check["stock"])
            + (1 if check["remaining"] < 0 else 0),
            "double_reserved": check["double_reserved_ids"],
            "cpus": os.cpu_count(),
            "load_after": os.getloadavg()[0],
        }
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        if args.db == "postgres":
            dropdb = shutil.which("dropdb") or "/usr/bin/dropdb"
            subprocess.run(  # noqa: S603
                [dropdb, "-h", "127.0.0.1", "-U", "postgres", "--if-exists", dbname],
                check=False,
            )
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
