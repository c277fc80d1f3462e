"""What a bridge process says about itself, for the health page and for its next start.

Written to a small JSON file per client id under SHOUWANG_VAR_DIR/ingest/, not to the
database: the moment it matters most is when the database is down. The web process of the
same host reads them (`read_all`). A bridge also reads its own file when it starts, to know
whether the broker should still hold a session for it (see `Bridge._check_session`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings


@dataclass
class BridgeStatus:
    client_id: str
    broker: str = ""
    # "connected", "broker unreachable", "database unreachable", "stopped"
    state: str = "starting"
    since: float = field(default_factory=time.time)
    # Last moment the bridge was known connected (epoch seconds): the broker keeps the session
    # for its expiry interval after that.
    connected_until: float = 0.0
    session_expiry: int = 0
    # The last time the broker had lost the session it should have kept, if ever.
    session_lost_at: float = 0.0
    detail: str = ""

    def session_expected(self, now: float) -> bool:
        return bool(self.connected_until) and now - self.connected_until < self.session_expiry


def _directory() -> Path:
    return Path(settings.VAR_DIR) / "ingest"


def _path(client_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in client_id)
    return _directory() / f"{safe}.json"


def load(client_id: str) -> BridgeStatus:
    try:
        data = json.loads(_path(client_id).read_text(encoding="utf-8"))
        return BridgeStatus(**data)
    except (OSError, ValueError, TypeError):
        return BridgeStatus(client_id)


def save(status: BridgeStatus) -> None:
    """Atomically (a reader never sees half a file); never raises: status is best effort."""
    with contextlib.suppress(OSError):
        directory = _directory()
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(status), handle)
        os.replace(temporary, _path(status.client_id))


def read_all() -> list[BridgeStatus]:
    statuses: list[BridgeStatus] = []
    with contextlib.suppress(OSError):
        for path in sorted(_directory().glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                statuses.append(BridgeStatus(**json.loads(path.read_text(encoding="utf-8"))))
    return statuses
