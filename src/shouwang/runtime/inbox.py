"""The demo's notification inbox: a small HTTP server on this machine that receives what the
demo's webhook channel sends (apprise's JSON shape: title, message, type) and prints each
message in the demo's terminal, so a notification is visible without a WeCom group or a mail
server. Only for `shouwang demo`; a real deployment sends to real channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 64 * 1024


class Inbox:
    """Listens on `host:port` (0: any free port) until `stop()`; `received` keeps the messages
    in the order they came, once each (a redelivery carries the same Idempotency-Key)."""

    def __init__(self, show: Callable[[str], None], host: str = "127.0.0.1", port: int = 0):
        self.show = show
        self.host = host
        self.received: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                try:
                    message = json.loads(body)
                except ValueError:
                    self.send_error(400, "not JSON")
                    return
                inbox.take(message if isinstance(message, dict) else {}, self.headers)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the message itself is printed, not the request line

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="demo-inbox", daemon=True
        )

    @property
    def url(self) -> str:
        """The demo channel's target: apprise's JSON webhook to this inbox."""
        port = int(self.server.server_address[1])
        return f"json://{self.host}:{port}/"

    def start(self) -> Inbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self, message: dict[str, Any], headers: Any) -> None:
        key = str(headers.get("Idempotency-Key") or "")
        with self._lock:
            if key and key in self._keys:
                return
            if key:
                self._keys.add(key)
            self.received.append(message)
        title = " ".join(str(message.get("title") or "").split())
        text = " ".join(str(message.get("message") or "").split())
        self.show(f"[通知] {title} · {text}" if title else f"[通知] {text}")
