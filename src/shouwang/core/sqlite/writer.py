"""One writer thread per process for SQLite: work that writes is handed to it and run in turn.

SQLite has one writer at a time, and the web server runs every request on a new thread with a
new connection. Writers queueing in SQLite's busy handler poll with sleeps of up to 100 ms and
leave the database idle in between; each new connection starts with a cold page cache and,
closing last, checkpoints the WAL. One long-lived thread with one connection takes the writes
in turn instead, as the raw driver would.

Used by the ingest path (`devices.services.ingest`) for its batches, by the MQTT bridge (its
batches run on this very thread: `shared_executor`), by the notification sender for the
outcomes of first attempts (`submit`, batched) and by the general sender for every write of
its retries and digests (lease, claim, deferral, outcome: `on_writer`); any other hot writer may
hand its transactions here the same way:

    result = writer.run(store_batch, items)   # runs here when the writer does not apply

or, so that a reader (and a call graph) sees a plain call, by marking the function:

    @writer.on_writer
    def store_batch(items): ...

On PostgreSQL, inside a caller's transaction, or on an in-memory database `run` simply calls the
function on the caller's thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache, partial, wraps
from typing import ParamSpec, TypeVar

from django.db import connection, connections

P = ParamSpec("P")
T = TypeVar("T")


def applies() -> bool:
    """Whether work on this thread goes to the writer thread.

    Not inside a caller's transaction (the MQTT bridge's, a test's): the work belongs to it.
    Not for an in-memory database (tests), which another thread's connection would not share.
    Not on the writer thread itself (an on-commit hook of its work), which would wait for
    itself.
    """
    return (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and not connection.is_in_memory_db()  # type: ignore[attr-defined]
        and not getattr(_here, "writer", False)
    )


def run(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)`, on the writer thread when `applies()`; its result or its
    exception. It runs in the caller's context (audit origin, language) like any service call,
    and should open its own transaction."""
    if not applies():
        return function(*args, **kwargs)
    context = contextvars.copy_context()
    call = partial(_guarded, function, *args, **kwargs)
    return _executor().submit(context.run, call).result()


def on_writer(function: Callable[P, T]) -> Callable[P, T]:
    """`function`, run by `run`: called like any function, on the writer thread when
    `applies()`."""

    @wraps(function)
    def on_writer_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        return run(function, *args, **kwargs)

    return on_writer_thread


def submit(function: Callable[[], T]) -> Future[T] | None:
    """`function()` queued on the writer thread without waiting for it (the notification
    sender's outcomes), or None where the writer does not apply (PostgreSQL, in-memory)."""
    if not _file_sqlite():
        return None
    context = contextvars.copy_context()
    return _executor().submit(context.run, partial(_guarded, function))


def shared_executor() -> ThreadPoolExecutor | None:
    """The writer thread itself, for a long-lived writer that runs its own transactions there
    (the MQTT bridge's batches), so that ingest and the notification bookkeeping share one
    queue instead of fighting for SQLite's lock; None where the writer does not apply."""
    return _executor() if _file_sqlite() else None


def _file_sqlite() -> bool:
    return connection.vendor == "sqlite" and not connection.is_in_memory_db()  # type: ignore[attr-defined]


def close() -> None:
    """Close the writer thread's connection (tests; the next write reconnects)."""
    _executor().submit(connections.close_all).result()


def _guarded(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return function(*args, **kwargs)
    except Exception:
        # Whatever broke this write (a full disk, a damaged file) must not stay with the
        # connection every later write uses: the next one reconnects.
        connection.close()
        raise


_here = threading.local()


def _mark_writer() -> None:
    _here.writer = True


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="sqlite-writer", initializer=_mark_writer
    )
