"""Browser fixtures: one Debian Chromium for the run, a fresh context per test, a live server.

The tests drive the real app through Playwright's sync API against pytest-django's
`live_server`. The server runs in another thread, so the data the test creates must be
committed: every browser test is a transactional one, and `town` is overridden here to use
`transactional_db`.

Each such test ends with a flush of all tables. Browser tests are marked with `available_apps`
(all installed apps): their flush then does not re-create content types and permissions, but
the start of each browser test creates the missing ones. So they run alike after any other
transactional test, with or without serialized rollback, and do not break the next one
(restoring a serialized snapshot collides with content types a plain flush re-created).
Browser tests that ask for serialized rollback themselves are left as they are. What data
migrations wrote (the default tags) is written again before each browser test.

Playwright's sync API marks its asyncio loop as running in the test thread for as long as it
is started. Hence three things below:
- Django's ORM refuses calls from "an async context" unless DJANGO_ALLOW_ASYNC_UNSAFE is set;
  it is set only while the browser runs, so the rest of the suite keeps Django's check.
- Django keeps database connections per thread, but per context while a loop runs (asgiref's
  thread-critical Local): the test would open second connections, not the ones the test
  database was set up with (on in-memory SQLite, the one the live server shares). The same
  connection objects are put in both places.
- The browser is scoped to this package, not to the session: all browser tests run one after
  the other (pytest-django orders them with the other transactional tests), so it is still
  one browser per run, and it is stopped before the tests that follow, which would otherwise
  fail in asyncio.run() ("cannot be called from a running event loop").
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.apps import apps as django_apps
from django.db import connections
from django.utils import translation
from django.utils.functional import Promise
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.conftest import Town

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def zh(message: str | Promise) -> str:
    """`message` as the app shows it to a zh-CN browser (the English msgid if untranslated).

    A lazy label (a choice's `.label`, perhaps with a context) is rendered as it is, so a
    context-specific translation (case status 隔离中, pass status 有效) is not lost."""
    with translation.override("zh-hans"):
        return translation.gettext(message) if isinstance(message, str) else str(message)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Debian chromium not installed at {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the browser tests (apt-get install chromium)")
        pytest.skip(message)
    same_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, connection in same_connections.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    # App names, not INSTALLED_APPS entries (an entry may name an AppConfig class).
    every_app = [app.name for app in django_apps.get_app_configs()]
    for item in items:
        # A test that restores a serialized snapshot must not have content types made first.
        serialized = "django_db_serialized_rollback" in getattr(item, "fixturenames", ())
        if here in item.path.parents and not serialized:
            item.add_marker(pytest.mark.django_db(transaction=True, available_apps=every_app))


@pytest.fixture(autouse=True)
def _migrated_data(transactional_db: None) -> None:
    """What the data migrations wrote, gone with the last test's flush: write it again."""
    import_module("shouwang.core.migrations.0002_default_tags").add_tags(django_apps, None)


@pytest.fixture
def town(transactional_db: None, town: Town) -> Town:
    """The shared town, committed so that the live server's thread can read it."""
    return town


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a fresh context (no cookies), as a Chinese-language browser sends."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    server_errors: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 500:
            server_errors.append(f"{response.status} {response.request.method} {response.url}")

    context.on("response", on_response)
    page = context.new_page()
    yield page
    context.close()
    assert not server_errors, f"the server answered with errors: {server_errors}"


def log_in(page: Page, live_server: LiveServer, username: str, password: str) -> None:
    """Open the login page and submit the form, as a person would type it."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label(zh("Username")).fill(username)
    page.get_by_label(zh("Password")).fill(password)
    page.get_by_role("button", name=zh("Log in"), exact=True).click()


def logged_in(page: Page, live_server: LiveServer, user: Any, password: str) -> Page:
    """Log in and wait for the home page (the gate for a guard, the alert console for the
    property office), for tests about what comes after."""
    log_in(page, live_server, user.get_username(), password)
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/(gate/|alerts/)?$"))
    expect(page.get_by_test_id("logout")).to_be_visible()
    return page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ThreadedServer:
    """The real ASGI app under uvicorn in a thread of the test process (live_server is WSGI):
    for SSE, the gate's fast path, and a server a test can stop and start again on the same
    port (the page's origin, and its localStorage, stay the same)."""

    port: int = field(default_factory=free_port)
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    # 5xx answers a test's pages saw, to fail the test with.
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from shouwang.asgi import application

        self.server = uvicorn.Server(
            uvicorn.Config(
                application,
                host="127.0.0.1",
                port=self.port,
                lifespan="off",
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:  # uvicorn offers a flag, no event to wait on
            assert self.thread.is_alive(), "uvicorn stopped"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is None or self.thread is None:
            return
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "uvicorn did not stop"
        self.server = self.thread = None
