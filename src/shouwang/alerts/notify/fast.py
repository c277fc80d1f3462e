"""The first attempt of a delivery: decided in the alert's transaction, sent right after its
commit by a warm sender, its outcome recorded in one write with others.

Why: a worker whose console is closed hears of an open door only from this delivery. The
general sender (`notify.sender`) takes a channel lease, claims, records and releases, about
ten statements per alert, each of them waiting for SQLite's write lock behind the ingest
batches; and apprise opens a new HTTP connection per message. Measured, that was most of the
time from the door to the webhook (issue 13).

The path:
1. `dispatch.plan` (inside the ingest transaction that opened the alert) asks `decide` which
   new deliveries go first-hand: the channel is active, and has no rate limit or room in it
   beyond the last message (which the general sender keeps, to gather a burst into a digest).
   Those rows are inserted already claimed (`claim` = this process's token, one attempt
   counted, `next_attempt_at` CLAIM ahead) with their message built from the alert in hand.
2. On commit (after the live bus has been told, so the console never waits for this) the jobs
   go to one long-lived thread running an asyncio loop: JSON webhooks are POSTed by aiohttp
   over kept-alive connections per target; other kinds (bots, e-mail, SMS) go through
   `channels.send` in a small thread pool.
3. Outcomes are collected and recorded together, in one transaction per batch: on SQLite on
   the process's one writer thread (`core.sqlite.writer`), where the ingest batches run too.
   A failure becomes a retry with backoff (or fails for good) exactly as in the general
   sender, which takes it from there.

A crash between the send and the record leaves the row claimed: after CLAIM the periodic sweep
sends it again (at least once, never lost). Every webhook request carries the delivery's id in
`Idempotency-Key`, so a receiver that saw the first copy can tell the second for what it is.
Nothing here logs a message's text (it holds a phone number).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import aiohttp
from django.db import OperationalError, connections, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from shouwang.alerts.models import Channel, ChannelKind, Delivery
from shouwang.alerts.notify import channels, conf, messages, trace
from shouwang.core.sqlite import writer

log = logging.getLogger(__name__)

CLAIM = timedelta(minutes=2)  # as the general sender's: due again after this if we died
WINDOW = timedelta(seconds=60)
TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
RECORD_TRIES = 10
PERSONAL_KINDS = (ChannelKind.SMS, ChannelKind.EMAIL)
Pending = Delivery.Status.PENDING


@dataclass
class Job:
    delivery: Delivery
    kind: str
    target: str
    message: messages.Message
    to: tuple[str, ...] | None
    trace: trace.Trace
    error: channels.SendError | None = None
    answered_at: datetime | None = field(default=None)


# --- deciding, inside the alert's transaction ----------------------------------------------


def decide(deliveries: Sequence[Delivery], channels_by_id: dict[int, Channel]) -> list[Delivery]:
    """Which of these not-yet-inserted deliveries go first-hand. One query at most: the recent
    attempts of the rate-limited channels among them."""
    if not runtime.running():
        if not conf.fast():
            return []
        runtime.start()  # a process that did not warm it up (`start`): on its first alert
    wanted: list[tuple[Delivery, Channel]] = []
    for d in deliveries:
        channel = channels_by_id.get(d.channel_id or 0)
        if channel is None or not channel.active or d.status != Pending:
            continue
        if channel.kind in PERSONAL_KINDS and not d.recipient_kind:
            # An SMS or e-mail channel may be one worker's own, whose message carries the full
            # phone number with an audit entry (`disclosure`): the general sender decides that.
            continue
        wanted.append((d, channel))
    limited = {channel.pk for _d, channel in wanted if channel.per_minute}
    used: dict[int, int] = {}
    if limited:
        since = timezone.now() - WINDOW
        # Messages begun in the window (sent, failed or in flight): a conservative count.
        used = dict(
            Delivery.objects.filter(channel_id__in=limited, last_attempt_at__gt=since)
            .filter(Q(digest_of=0) | Q(digest_of=F("pk")))
            .order_by()
            .values_list("channel_id")
            .annotate(n=Count("id"))
            .values_list("channel_id", "n")
        )
    chosen: list[Delivery] = []
    for delivery, channel in wanted:
        if channel.per_minute:
            if used.get(channel.pk, 0) + 1 >= channel.per_minute:
                continue  # the window's last message belongs to the general sender's digest
            used[channel.pk] = used.get(channel.pk, 0) + 1
        chosen.append(delivery)
    return chosen


def claim_first(delivery: Delivery, now: datetime) -> None:
    """Mark a delivery, before its insert, as this process's first attempt."""
    delivery.claim = runtime.token
    delivery.attempts = 1
    delivery.last_attempt_at = now
    delivery.next_attempt_at = now + CLAIM


# --- the warm sender -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def webhook_target(
    target: str,
) -> tuple[str, str, dict[str, str], dict[str, str], Any, bool, dict[str, str]]:
    """A json:// target as apprise reads it: method, URL, headers, query, auth, TLS check,
    payload remapping. Cached: parsing a URL through apprise costs more than sending."""
    service: Any = channels.service_for(ChannelKind.WEBHOOK, target)
    url = f"{'https' if service.secure else 'http'}://{service.host}"
    if isinstance(service.port, int):
        url += f":{service.port}"
    url += service.fullpath
    headers = {"User-Agent": service.app_id, "Content-Type": "application/json"}
    headers.update(service.headers)
    auth = aiohttp.BasicAuth(service.user, service.password or "") if service.user else None
    return (
        service.method,
        url,
        headers,
        dict(service.params),
        auth,
        bool(service.verify_certificate),
        dict(service.payload_extras),
    )


def webhook_body(message: messages.Message, extras: dict[str, str]) -> bytes:
    """apprise's JSON payload (the same fields, the same remapping), so a receiver cannot tell
    a first attempt from a retry sent through apprise."""
    payload: dict[str, Any] = {
        "version": "1.0",
        "title": message.title,
        "message": message.body,
        "attachments": [],
        "type": "warning",
    }
    for key, value in extras.items():
        if key in payload:
            old = payload.pop(key)
            if value:
                payload[value] = old
        else:
            payload[key] = value
    return json.dumps(payload).encode()


class Runtime:
    """One thread with an event loop and a pooled HTTP client, started with the process
    (`start`) when NOTIFY_FAST is on (the default; the test suite turns it off but where a test
    means it)."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._blocking: ThreadPoolExecutor | None = None
        self._recorder: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._outcomes: list[Job] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self._flushing = False
        self._busy = 0
        self._idle = threading.Condition(self._lock)

    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        with self._lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(loop, ready), name="shouwang-notify-fast", daemon=True
            )
            self._thread.start()
            ready.wait(10)
            self._blocking = ThreadPoolExecutor(
                max_workers=conf.threads(), thread_name_prefix="shouwang-notify-send"
            )
            self._recorder = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="shouwang-notify-record"
            )
            self._loop = loop
        log.info("first-attempt sender ready: its thread, event loop and HTTP pool")

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)

        async def open_session() -> None:
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT,
                connector=aiohttp.TCPConnector(limit_per_host=16, keepalive_timeout=60),
            )

        loop.run_until_complete(open_session())
        ready.set()
        loop.run_forever()

    def stop(self) -> None:
        self.wait_idle(10)
        with self._lock:
            loop, self._loop = self._loop, None
            blocking, self._blocking = self._blocking, None
            recorder, self._recorder = self._recorder, None
        if loop is None:
            return

        async def close() -> None:
            if self._session is not None:
                await self._session.close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        for pool in (blocking, recorder):
            if pool is not None:
                pool.shutdown(wait=True)

    def submit(self, jobs: Iterable[Job]) -> None:
        """After the commit: send these now."""
        loop = self._loop
        jobs = list(jobs)
        if loop is None or not jobs:
            return
        committed = trace.now()
        for job in jobs:
            job.trace.mark("committed", committed)
        with self._lock:
            self._busy += len(jobs)
        loop.call_soon_threadsafe(self._start_jobs, jobs)

    def _start_jobs(self, jobs: list[Job]) -> None:
        for job in jobs:
            task = asyncio.ensure_future(self._send(job))
            self._tasks.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._tasks.discard)

    async def _send(self, job: Job) -> None:
        job.trace.mark("taken")
        try:
            if job.kind == ChannelKind.WEBHOOK and job.to is None:
                await self._post(job)
            elif self._blocking is not None:
                loop = asyncio.get_running_loop()
                job.trace.mark("request")
                await loop.run_in_executor(
                    self._blocking, channels.send, job.kind, job.target, job.message, job.to
                )
            else:
                raise channels.SendError("发送器已停止")
        except channels.SendError as exc:
            job.error = exc
        except Exception as exc:  # a bug must not leave the delivery claimed for good
            job.error = channels.SendError(f"内部错误：{type(exc).__name__}")
            log.error("first attempt of delivery %s: %s", job.delivery.pk, type(exc).__name__)
        job.trace.mark("response")
        job.answered_at = timezone.now()
        self._done(job)

    async def _post(self, job: Job) -> None:
        try:
            method, url, headers, params, auth, verify, extras = webhook_target(job.target)
        except ValueError as exc:
            raise channels.SendError(str(exc), permanent=True) from None
        if self._session is None:
            raise channels.SendError("发送器未启动")
        body = webhook_body(job.message, extras)
        headers = {**headers, "Idempotency-Key": f"shouwang-delivery-{job.delivery.pk}"}
        job.trace.mark("request")
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                params=params or None,
                auth=auth,
                ssl=verify,
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise channels.SendError(f"JSON 连接失败：{type(exc).__name__}") from None
        if not 200 <= status < 300:
            raise channels.classify_status(status, f"JSON 拒绝：HTTP {status}")

    # --- recording, batched ------------------------------------------------------------------

    def _done(self, job: Job) -> None:
        with self._lock:
            self._outcomes.append(job)
            if self._flushing:
                return  # the flush in progress picks this one up when it loops
            self._flushing = True
        self._flush_soon()

    def _flush_soon(self) -> None:
        if writer.submit(self._flush) is None and self._recorder is not None:
            self._recorder.submit(self._flush)

    def _flush(self) -> None:
        while True:
            with self._lock:
                batch, self._outcomes = self._outcomes, []
                if not batch:
                    self._flushing = False
                    return
            try:
                for attempt in range(RECORD_TRIES):
                    try:
                        record(batch)
                        break
                    except OperationalError:
                        # SQLite's lock, where another writer holds it (the general sender's
                        # rare retries; tests' shared in-memory database): try again shortly.
                        if attempt == RECORD_TRIES - 1:
                            raise
                        time.sleep(0.02 * (attempt + 1))
            except Exception as exc:  # left claimed: the sweep sends them again after CLAIM
                log.error("recording %d first attempts failed: %s", len(batch), type(exc).__name__)
                connections["default"].close_if_unusable_or_obsolete()
            finally:
                with self._lock:
                    self._busy -= len(batch)
                    self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Until every submitted job is sent and recorded (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


def record(jobs: list[Job]) -> None:
    """The outcomes of first attempts, in one transaction: sent ones in one UPDATE; failures
    as the general sender records them (retry with backoff, or failed for good)."""
    from shouwang.alerts.notify import sender

    token = runtime.token
    sent = [j for j in jobs if j.error is None]
    failed = [j for j in jobs if j.error is not None]
    with transaction.atomic():
        if sent:
            at = max(j.answered_at or timezone.now() for j in sent)
            Delivery.objects.filter(
                pk__in=[j.delivery.pk for j in sent], claim=token, status=Pending
            ).update(status=Delivery.Status.SENT, sent_at=at, claim="")
        for job in jobs:
            if job.error is not None:
                sender.record_failure(job.delivery, job.error, claim=token)
    if failed:
        transaction.on_commit(sender.wake)  # its timer takes the retries from here
    done = trace.now()
    for job in jobs:
        job.trace.mark("recorded", done)
    trace.write([j.trace for j in jobs])
    if sent:
        log.info("sent deliveries %s at first attempt", ",".join(str(j.delivery.pk) for j in sent))


runtime = Runtime()


def start() -> None:
    """Warm the sender up as a process starts (`shouwang serve`, `ingest` and `worker` call
    it), so that the first alert finds its thread, loop and HTTP pool ready instead of paying
    for them. Nothing with NOTIFY_FAST off. A process that did not call it (a management
    command raising an alert) starts the sender on its first alert."""
    if conf.fast():
        runtime.start()
