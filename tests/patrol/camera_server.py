"""A real local HTTP server that behaves like a gate camera's snapshot endpoint: digest auth
(RFC 7616 with qop=auth and MD5, as Hikvision and Dahua answer), basic auth, JPEGs drawn with
Pillow, and the ways cameras fail (wrong password → 401, garbage, slow, huge). Used by the
tests and by bench/patrol.py; no mocks of the thing under test."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

USER = "admin"
PASSWORD = "Cam-pass-2026"
REALM = "IP Camera(C1234)"


def gate_jpeg(label: str = "gate", size: tuple[int, int] = (320, 180)) -> bytes:
    image = Image.new("RGB", size, (40, 60, 80))
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 3, size[1] // 4, 2 * size[0] // 3, size[1]), outline=(220, 220, 0))
    draw.text((8, 8), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - digest auth is MD5


@dataclass
class CameraServer:
    port: int = 0
    jpeg: bytes = field(default_factory=gate_jpeg)
    slow_seconds: float = 2.0
    requests: list[str] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(state: CameraServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _challenge(self) -> None:
            nonce = os.urandom(16).hex()
            state.nonces.add(nonce)
            header = f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'
            self._send(401, b"unauthorized", "text/plain", {"WWW-Authenticate": header})

        def _digest_ok(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Digest "):
                return False
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
            if fields.get("nonce") not in state.nonces or fields.get("username") != USER:
                return False
            ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
            ha2 = _md5(f"{self.command}:{fields.get('uri', '')}")
            expected = _md5(
                f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}"
                f":{fields.get('qop', '')}:{ha2}"
            )
            return fields.get("response") == expected and fields.get("uri") == self.path

        def do_GET(self) -> None:
            state.requests.append(self.path)
            path = self.path.split("?")[0]
            if path == "/basic.jpg":
                good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != good:
                    self._send(401, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="cam"'})
                    return
                self._send(200, state.jpeg, "image/jpeg", {})
                return
            if not self._digest_ok():
                self._challenge()
                return
            if path.startswith("/ISAPI/Streaming/channels/"):
                self._send(200, state.jpeg, "image/jpeg", {})
            elif path == "/garbage":
                self._send(200, b"<html>login page</html>", "image/jpeg", {})
            elif path == "/slow.jpg":
                time.sleep(state.slow_seconds)
                self._send(200, state.jpeg, "image/jpeg", {})
            elif path == "/error":
                self._send(500, b"internal error", "text/plain", {})
            else:
                self._send(404, b"", "text/plain", {})

    return Handler


@contextmanager
def camera_server(**kwargs: object) -> Iterator[CameraServer]:
    state = CameraServer(**kwargs)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def dead_url() -> str:
    """A URL on a local port nothing listens on (a camera switched off)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/ISAPI/Streaming/channels/101/picture"
