"""Logging filters.

Django logs a refused request (403, 400) on `django.request` with the exception attached, so
an ordinary "your role may not do this" printed a whole traceback into the log, where it looks
like a crash and buries the real ones. A 4xx is the app working as designed: keep the one-line
record, drop the traceback. 5xx records keep theirs.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any


class ClientErrorsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


# --- secrets out of the logs ------------------------------------------------------------------
# uvicorn's access log writes every request line, and Django's `django.request` logger names the
# path of a 404: both would keep `/p/<token>/` (a resident's pass), `/q/<token>/` (a resident's
# health check-in link) and `?key=<ingest key>` (CTWing and OneNET cannot send a header) for as
# long as the logs live, and whoever reads them could act as that resident or that gateway.
# `RedactSecrets` rewrites a record's message and arguments before any handler formats it; it
# sits on the handlers of Django's LOGGING and of the configuration `shouwang serve` gives uvicorn.

REDACTED = "[redacted]"
_LINK = re.compile(r"(/[pq]/)[^/?#\s\"]+")
_QUERY = re.compile(r"([?&](?:key|token|access_token)=)[^&#\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    return _QUERY.sub(rf"\g<1>{REDACTED}", _LINK.sub(rf"\g<1>{REDACTED}", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


FILTERS = {"redact_secrets": {"()": "shouwang.core.logs.RedactSecrets"}}


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own configuration with every handler filtered."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {**config.get("filters", {}), **FILTERS}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_secrets"]
    return config
