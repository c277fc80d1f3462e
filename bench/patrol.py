"""Snapshots of a whole round: 120 local cameras, some slow or dead, fetched at once.

    .venv/bin/python bench/patrol.py [--cameras 120] [--slow 10] [--dead 10]

A local HTTP server with digest auth (tests/patrol/camera_server.py) serves a 1080p JPEG;
`--slow` of the cameras answer only after 10 s (the fetch gives up at 4 s) and `--dead` point
at a port nothing listens on. The fetch is `patrol.services.snapshots.grab` in the pool that
`refresh` uses (the network part; the database write of 120 snapshots is not included). Prints
one JSON object: seconds for the whole round, snapshots fetched per second, how many came back
and why the others did not. The aim (issue 15): a whole round's snapshots fresh within 5 s.
Not measured here yet: detection CPU, server time per round step, resumable video upload.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=120)
    parser.add_argument("--slow", type=int, default=10)
    parser.add_argument("--dead", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("SHOUWANG_VAR_DIR", tempfile.mkdtemp(prefix="bench-patrol-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()
    from PIL import Image
    from tests.patrol.camera_server import PASSWORD, USER, camera_server, dead_url

    from shouwang.patrol.models import Camera, CameraAuth
    from shouwang.patrol.services import snapshots

    frame = io.BytesIO()
    Image.effect_noise((1920, 1080), 40).convert("RGB").save(frame, "JPEG", quality=80)
    with camera_server(jpeg=frame.getvalue(), slow_seconds=10) as server:
        cameras = []
        for n in range(args.cameras):
            if n < args.dead:
                url = dead_url()
            elif n < args.dead + args.slow:
                url = server.url("/slow.jpg")
            else:
                url = server.url(f"/ISAPI/Streaming/channels/{n}01/picture")
            cameras.append(
                Camera(
                    pk=n + 1,
                    snapshot_url=url,
                    auth=CameraAuth.DIGEST,
                    username=USER,
                    password=PASSWORD,
                )
            )
        started = time.perf_counter()
        with ThreadPoolExecutor(min(snapshots.POOL_SIZE, len(cameras))) as pool:
            grabs = list(pool.map(snapshots.grab, cameras))
        seconds = time.perf_counter() - started
    fetched = sum(1 for g in grabs if g.ok)
    print(
        json.dumps(
            {
                "cameras": args.cameras,
                "slow": args.slow,
                "dead": args.dead,
                "frame_bytes": len(frame.getvalue()),
                "round_seconds": round(seconds, 2),
                "fetched": fetched,
                "fetched_per_second": round(fetched / seconds, 1),
                "failed": dict(Counter(g.error for g in grabs if not g.ok)),
                "fresh_within_5_s": seconds <= 5,
            }
        )
    )


if __name__ == "__main__":
    main()
