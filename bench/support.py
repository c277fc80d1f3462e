"""What the benchmarks share: progress notes on stderr (stdout is the one JSON object), the
error that ends a run with a reason, and local ports for the servers they start."""

from __future__ import annotations

import socket
import sys


def note(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
