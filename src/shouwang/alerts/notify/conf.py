"""Notification settings: a Django setting when one is defined, else SHOUWANG_* from the
environment, else the default.

| setting (environment variable)                        | default                 |
| ----------------------------------------------------- | ----------------------- |
| BASE_URL (SHOUWANG_BASE_URL)                          | http://127.0.0.1:8000   |
| NOTIFY_MAX_ATTEMPTS (SHOUWANG_NOTIFY_MAX_ATTEMPTS)    | 10                      |
| NOTIFY_THREADS (SHOUWANG_NOTIFY_THREADS)              | 4                       |
| NOTIFY_BASE_URL_OVERRIDES (…_NOTIFY_BASE_URL_OVERRIDES, JSON) | {}              |
| NOTIFY_TRACE_FILE (SHOUWANG_NOTIFY_TRACE_FILE)        | "" (no trace)           |
| NOTIFY_FAST (SHOUWANG_NOTIFY_FAST)                    | 1 (first attempt at once) |

NOTIFY_BASE_URL_OVERRIDES maps a vendor's origin to another one, e.g.
{"https://oapi.dingtalk.com": "http://127.0.0.1:8081"}: apprise's WeCom, DingTalk and Feishu
plugins have their vendors' hosts built in, and this is how the tests point them at a local
receiver. It is applied to each plugin instance we create (never by patching apprise), so it
could equally serve a site that must reach the vendor through a gateway of its own.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.conf import settings

from shouwang import config

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _setting(name: str, default: str) -> Any:
    value = getattr(settings, name, None)
    if value is not None:
        return value
    return config.env(name, default)


def base_url() -> str:
    return str(_setting("BASE_URL", DEFAULT_BASE_URL)).rstrip("/")


def max_attempts() -> int:
    return max(1, int(_setting("NOTIFY_MAX_ATTEMPTS", "10")))


def threads() -> int:
    return max(1, int(_setting("NOTIFY_THREADS", "4")))


def base_url_overrides() -> dict[str, str]:
    value = _setting("NOTIFY_BASE_URL_OVERRIDES", "")
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return {str(k).rstrip("/"): str(v).rstrip("/") for k, v in dict(value).items()}


@functools.cache
def trace_file() -> str:
    """Where first attempts' step timings go, one JSON line each ("" for nowhere): benches."""
    return str(_setting("NOTIFY_TRACE_FILE", "") or "")


def fast() -> bool:
    """Whether processes that run the sender make first attempts at once (see notify.fast)."""
    return str(_setting("NOTIFY_FAST", "1")).strip().lower() not in ("0", "false", "no", "off")
