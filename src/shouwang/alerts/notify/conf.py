"""Notification settings, from `settings.NOTIFY` (a `config.NotifyConfig`, read once from
SHOUWANG_BASE_URL and SHOUWANG_NOTIFY_* at start-up: base URL, attempts, threads, vendor
origin overrides, the first attempts' trace file, fast first attempts on or off).

NOTIFY.base_url_overrides maps a vendor's origin to another one, e.g.
{"https://oapi.dingtalk.com": "http://127.0.0.1:8081"}: apprise's WeCom, DingTalk and Feishu
plugins have their vendors' hosts built in, and this is how the tests point them at a local
receiver. It is applied to each plugin instance we create (never by patching apprise), so it
could equally serve a site that must reach the vendor through a gateway of its own.
"""

from __future__ import annotations

from django.conf import settings

from shouwang.config import NotifyConfig


def _notify() -> NotifyConfig:
    config: NotifyConfig = settings.NOTIFY
    return config


def base_url() -> str:
    return _notify().base_url


def max_attempts() -> int:
    return _notify().max_attempts


def threads() -> int:
    return _notify().threads


def base_url_overrides() -> dict[str, str]:
    return _notify().base_url_overrides


def trace_file() -> str:
    """Where first attempts' step timings go, one JSON line each ("" for nowhere): benches."""
    return _notify().trace_file


def fast() -> bool:
    """Whether processes that run the sender make first attempts at once (see notify.fast)."""
    return _notify().fast
