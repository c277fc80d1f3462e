"""Sending deliveries: at once on commit, retried with backoff, never twice, never lost.

The flow:
- `dispatch.plan` writes `Delivery` rows in the alert's transaction. Most first attempts do not
  come here: `notify.fast` sends them right after the commit and records the outcome, and only
  a failure (to retry), a rate-limited channel's window-end message (to gather a digest) or a
  delivery whose sender died reaches this module. For the rest, on commit `wake()` hands the
  work to a small thread pool in this process.
- A wake looks up which channels have deliveries due, and runs each channel in a pool thread.
  One process at a time sends for a channel: it takes the channel's lease with a conditional
  UPDATE (`lease_until` past or empty), so the rate limit holds across processes, and the
  deliveries it sends are claimed with a second conditional UPDATE (still pending, still due),
  which also counts the attempt and moves `next_attempt_at` a few minutes ahead: a process
  that dies mid-send leaves them to be retried then, not lost.
- A failure is retried with exponential backoff (30 s, 1 min, 2 min … 30 min at most), a
  refusal (HTTP 4xx other than 408/429, a bot's error code) or the last allowed attempt marks
  the delivery FAILED with the error, for an admin to see and requeue. A channel that is down
  keeps its deliveries waiting.
- Rate limits: at most `Channel.per_minute` messages in any 60 s, counted from the database
  (sent deliveries leading a message). A burst beyond that becomes one digest: with room for
  one message left, the sender waits a few seconds to gather what is coming and sends it all
  as one; with none left, deliveries wait for the window to free a slot.
- On SQLite every write here (lease, claim, deferral, outcome, audit) is handed to the
  process's one writer thread (`core.sqlite.writer`: the functions marked `@writer.on_writer`,
  and `writer.run` for the audit entry), where the ingest batches and the
  first attempts' outcomes are written too: one queue instead of threads fighting for the
  write lock. Reads stay on the sender's own thread (WAL readers do not wait).
- Timers for retries and deferrals run in this process; the periodic sweep
  (`alerts.tasks.send_due_notifications`, every minute) finds anything else that is due, such
  as what a process that crashed or restarted left behind.

Nothing here logs message text: it holds the resident's phone number.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from shouwang.alerts.models import Channel, Delivery
from shouwang.alerts.notify import channels, conf, disclosure, messages, recipients
from shouwang.core import audit
from shouwang.core.sqlite import writer

log = logging.getLogger(__name__)

CLAIM = timedelta(minutes=2)  # a claimed delivery is due again after this if its sender died
LEASE = timedelta(seconds=60)  # a channel's lease, renewed before every message
WINDOW = timedelta(seconds=60)  # the rate limit's window
GATHER = timedelta(seconds=5)  # how long the last message of a window waits to gather a burst
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)
MAX_BATCH = 200  # deliveries of one channel looked at in one round
Pending = Delivery.Status.PENDING


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts."""
    return min(FIRST_BACKOFF * (1 << min(max(0, attempts - 1), 16)), MAX_BACKOFF)


@dataclass
class Report:
    messages: int = 0  # messages sent (a digest is one)
    sent: int = 0  # deliveries sent
    retried: int = 0  # deliveries failed for now, to be retried
    failed: int = 0  # deliveries failed for good
    deferred: int = 0  # deliveries held back by the rate limit

    def add(self, other: Report) -> Report:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- what is due ------------------------------------------------------------------------------


def due_channels(now: datetime) -> list[int]:
    return list(
        Delivery.objects.filter(status=Pending, next_attempt_at__lte=now)
        .order_by()
        .values_list("channel_id", flat=True)
        .distinct()
    )


def next_due_after(now: datetime) -> datetime | None:
    found: datetime | None = Delivery.objects.filter(
        status=Pending, next_attempt_at__gt=now
    ).aggregate(at=Min("next_attempt_at"))["at"]
    return found


def run_due(now: datetime | None = None) -> Report:
    """Send everything due now, channel by channel, in this thread (the periodic sweep)."""
    report = Report()
    for channel_id in due_channels(now or timezone.now()):
        report.add(deliver_channel(channel_id))
    return report


# --- one channel ----------------------------------------------------------------------------


# Every write below is marked @writer.on_writer: on SQLite it runs on the process's one writer
# thread (see the module's docstring).


@writer.on_writer
def _acquire(channel_id: int, token: str) -> bool:
    now = timezone.now()
    return (
        Channel.objects.filter(pk=channel_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now) | Q(lease_token=token))
        .update(lease_token=token, lease_until=now + LEASE)
        == 1
    )


@writer.on_writer
def _release(channel_id: int, token: str) -> None:
    Channel.objects.filter(pk=channel_id, lease_token=token).update(
        lease_token="", lease_until=None
    )


def _has_due(channel_id: int) -> bool:
    return Delivery.objects.filter(
        channel_id=channel_id, status=Pending, next_attempt_at__lte=timezone.now()
    ).exists()


def deliver_channel(channel_id: int) -> Report:
    """Send what is due for one channel, if no other sender holds it. After giving the lease
    up, look again: a delivery committed while we held it may have found the channel taken."""
    report = Report()
    token = uuid.uuid4().hex
    for _ in range(100):  # bounded: each pass either sends, defers or finds nothing
        if not _acquire(channel_id, token):
            return report
        try:
            rounds = 0
            while rounds < 100 and _round(channel_id, token, report):
                rounds += 1
        finally:
            _release(channel_id, token)
        if not _has_due(channel_id):
            break
    return report


def _messages_in_window(channel_id: int, now: datetime) -> list[datetime]:
    """When the channel's messages of the last minute were sent, oldest first."""
    times = (
        Delivery.objects.filter(
            channel_id=channel_id, status=Delivery.Status.SENT, sent_at__gt=now - WINDOW
        )
        .filter(Q(digest_of=0) | Q(digest_of=F("pk")))
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    return [at for at in times if at is not None]


def _defer(ids: Iterable[int], now: datetime, until: datetime, report: Report) -> None:
    report.deferred += _postpone(list(ids), now, until)
    runtime.schedule(until)


@writer.on_writer
def _postpone(ids: list[int], now: datetime, until: datetime) -> int:
    # Claimed deliveries lie CLAIM ahead: the condition leaves any such alone.
    return Delivery.objects.filter(
        pk__in=ids, status=Pending, next_attempt_at__lte=now + GATHER
    ).update(next_attempt_at=until)


@writer.on_writer
def _take(ids: list[int], now: datetime, claim: str) -> None:
    Delivery.objects.filter(pk__in=ids, status=Pending, next_attempt_at__lte=now).update(
        claim=claim,
        attempts=F("attempts") + 1,
        next_attempt_at=now + CLAIM,
        last_attempt_at=now,
    )


@writer.on_writer
def _fail_inactive(ids: list[int], now: datetime) -> int:
    return Delivery.objects.filter(pk__in=ids, status=Pending).update(
        status=Delivery.Status.FAILED, last_error="渠道已停用", last_attempt_at=now
    )


def _claim(ids: list[int], now: datetime) -> list[Delivery]:
    """Take the deliveries that are still pending and due; count the attempt."""
    claim = uuid.uuid4().hex
    _take(ids, now, claim)
    return list(
        Delivery.objects.filter(claim=claim, status=Pending)
        .select_related("alert__person")
        .defer("alert__person__id_number")
        .order_by("created_at", "id")
    )


def _round(channel_id: int, token: str, report: Report) -> bool:
    """One look at the channel: send, defer or find nothing. True: look again."""
    now = timezone.now()
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:  # deleted meanwhile, and its deliveries with it
        return False
    due = list(
        Delivery.objects.filter(channel_id=channel_id, status=Pending, next_attempt_at__lte=now)
        .order_by("created_at", "id")
        .values_list("pk", "created_at")[:MAX_BATCH]
    )
    if not due:
        return False
    ids = [pk for pk, _ in due]
    if not channel.active:
        report.failed += _fail_inactive(ids, now)
        return True
    as_one = False
    if channel.per_minute:
        sent = _messages_in_window(channel_id, now)
        room = channel.per_minute - len(sent)
        if room <= 0:
            # Wait until enough of the window's messages are a minute old.
            _defer(ids, now, sent[len(sent) - channel.per_minute] + WINDOW, report)
            return False
        if room == 1:
            # The window's last message: gather a burst for a few seconds, then send it all.
            soon = list(
                Delivery.objects.filter(
                    channel_id=channel_id, status=Pending, next_attempt_at__lte=now + GATHER
                )
                .order_by("created_at", "id")
                .values_list("pk", "created_at")[:MAX_BATCH]
            )
            ready_at = min(created for _, created in soon) + GATHER
            if ready_at > now:
                _defer([pk for pk, _ in soon], now, ready_at, report)
                return False
            ids, as_one = [pk for pk, _ in soon], True
        elif len(ids) >= room:
            as_one = True
    claimed = _claim(ids, now)
    if not claimed:
        return True
    # A digest joins the messages of one recipient only: the channel's own recipients, or one
    # family contact (who must never read of another household's alerts).
    groups: dict[tuple[str, int], list[Delivery]] = {}
    for delivery in claimed:
        groups.setdefault((delivery.recipient_kind, delivery.recipient_ref), []).append(delivery)
    for group in groups.values():
        if as_one and len(group) > 1:
            if not _acquire(channel_id, token):
                return False
            _send(channel, group, token, report, digest=True)
            continue
        for delivery in group:
            if not _acquire(channel_id, token):  # renew; lost only if we overran the lease
                return False
            _send(channel, [delivery], token, report, digest=False)
    return True


def addresses(delivery: Delivery) -> tuple[str, ...] | None:
    """Where a delivery to a registered kind of recipient goes (None: the channel's own)."""
    if not delivery.recipient_kind:
        return None
    source = recipients.source(delivery.recipient_kind)
    address = source.address(delivery.recipient_ref) if source is not None else None
    if not address:
        raise channels.SendError("联系人已删除", permanent=True)
    return (address,)


def _message(
    channel: Channel, deliveries: list[Delivery], digest: bool, full_phone: bool = False
) -> messages.Message:
    base = conf.base_url()
    zone = ZoneInfo(settings.TIME_ZONE)
    facts = [
        messages.facts_from(d.alert, d.reason, base, settings.LANGUAGE_CODE, full_phone=full_phone)
        for d in deliveries
    ]
    if digest:
        return messages.digest(
            facts, messages.console_url(base), zone, channels.MAX_BYTES.get(channel.kind)
        )
    return messages.single(facts[0], zone)


def _send(
    channel: Channel, deliveries: list[Delivery], token: str, report: Report, digest: bool
) -> None:
    error: channels.SendError | None = None
    reader = None  # the one worker who may read the full phone number (disclosure.py)
    try:
        if not digest and not deliveries[0].recipient_kind:
            reader = disclosure.addressed_to(channel)
        message = _message(channel, deliveries, digest, full_phone=reader is not None)
        channels.send(
            channel.kind,
            channel.target or "",
            message,
            to=addresses(deliveries[0]),
            key=f"shouwang-{'digest' if digest else 'delivery'}-{min(d.pk for d in deliveries)}",
        )
        if reader is not None:
            writer.run(disclosure.record, channel, reader, deliveries[0].alert)
    except channels.SendError as exc:
        error = exc
    except Exception as exc:  # a bug must not leave the deliveries claimed for good
        error = channels.SendError(f"内部错误：{type(exc).__name__}")
        log.error("sending to channel %s failed: %s", channel.pk, type(exc).__name__)
    report.add(_record(channel, deliveries, error))


@writer.on_writer
def _record(
    channel: Channel, deliveries: list[Delivery], error: channels.SendError | None
) -> Report:
    """The outcome of one message, in one transaction."""
    report = Report()
    now = timezone.now()
    ids = [d.pk for d in deliveries]
    lead = min(ids) if len(ids) > 1 else 0
    with transaction.atomic():
        if error is not None:
            for delivery in deliveries:
                report.add(record_failure(delivery, error))
            return report
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.SENT, sent_at=now, digest_of=lead, claim=""
        )
    report.messages += 1
    report.sent += len(ids)
    log.info(
        "sent %s to channel %s%s",
        "deliveries " + ",".join(map(str, ids)) if lead else f"delivery {ids[0]}",
        channel.pk,
        " as one digest" if lead else "",
    )
    return report


def record_failure(
    delivery: Delivery, error: channels.SendError, claim: str | None = None
) -> Report:
    """A failed attempt: retried after a backoff, or failed for good (a refusal, or the last
    allowed attempt). With `claim`, only while the delivery still holds that claim."""
    report = Report()
    now = timezone.now()
    rows = Delivery.objects.filter(pk=delivery.pk)
    if claim is not None:
        rows = rows.filter(claim=claim, status=Pending)
    if error.permanent or delivery.attempts >= conf.max_attempts():
        rows.update(status=Delivery.Status.FAILED, last_error=error.text, claim="")
        report.failed += 1
        log.warning(
            "delivery %s to channel %s failed after %s attempt(s): %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
            error.text,
        )
        return report
    wait = backoff(delivery.attempts)
    if error.rate_limited:
        wait = max(wait, WINDOW)
    rows.update(next_attempt_at=now + wait, last_error=error.text, claim="")
    report.retried += 1
    transaction.on_commit(lambda: runtime.schedule(now + wait))
    log.info(
        "delivery %s to channel %s: attempt %s failed, next in %ss: %s",
        delivery.pk,
        delivery.channel_id,
        delivery.attempts,
        int(wait.total_seconds()),
        error.text,
    )
    return report


# --- admins -----------------------------------------------------------------------------------


def requeue(actor: Any, ids: Iterable[int]) -> int:
    """Send failed deliveries again, from a fresh count of attempts (the admin's action)."""
    ids = list(ids)
    with transaction.atomic():
        count = Delivery.objects.filter(
            pk__in=ids, status=Delivery.Status.FAILED, channel__isnull=False
        ).update(status=Pending, attempts=0, next_attempt_at=timezone.now(), claim="")
        audit.record("delivery.requeue", actor=actor, details={"ids": ids, "requeued": count})
        transaction.on_commit(wake)
    return count


# --- the in-process sender ------------------------------------------------------------------


class Runtime:
    """A small pool of threads, started on the first wake, with one timer for the next
    retry or deferral this process knows of."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._executor: ThreadPoolExecutor | None = None
        self._scan_queued = False
        self._queued: set[int] = set()
        self._busy = 0
        self._timer: threading.Timer | None = None
        self._timer_at: datetime | None = None

    def wake(self) -> None:
        with self._lock:
            if self._scan_queued:
                return  # a scan is queued and not started: it will see this commit too
            self._scan_queued = True
            self._submit(self._scan)

    def _submit(self, function: Callable[..., None], *args: Any) -> None:  # lock held
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=conf.threads(), thread_name_prefix="shouwang-notify"
            )
        self._busy += 1
        self._executor.submit(self._run, function, *args)

    def _run(self, function: Callable[..., None], *args: Any) -> None:
        try:
            function(*args)
        except Exception as exc:  # the pool must survive a database hiccup
            log.error("notification sender: %s: %s", type(exc).__name__, messages.scrub(str(exc)))
        finally:
            # Keep this thread's connection for the next wake (opening one cost more than the
            # work); drop it only if it broke or outlived CONN_MAX_AGE.
            for conn in connections.all(initialized_only=True):
                conn.close_if_unusable_or_obsolete()
            with self._lock:
                self._busy -= 1
                self._idle.notify_all()

    def _scan(self) -> None:
        with self._lock:
            self._scan_queued = False
        now = timezone.now()
        due = due_channels(now)
        here: int | None = None  # the first channel is sent from this thread: no hand-over
        with self._lock:
            for channel_id in due:
                if channel_id in self._queued:
                    continue
                if here is None:
                    here = channel_id
                else:
                    self._queued.add(channel_id)
                    self._submit(self._channel, channel_id)
        if here is not None:
            deliver_channel(here)
        upcoming = next_due_after(timezone.now())
        if upcoming is not None:
            self.schedule(upcoming)

    def _channel(self, channel_id: int) -> None:
        with self._lock:
            self._queued.discard(channel_id)
        deliver_channel(channel_id)

    def schedule(self, when: datetime) -> None:
        """Wake at `when`, if this process runs the sender (else the periodic sweep will)."""
        with self._lock:
            if self._executor is None:
                return
            if self._timer is not None and self._timer_at is not None and self._timer_at <= when:
                return  # an earlier wake is set; its scan sets the next one
            if self._timer is not None:
                self._timer.cancel()
            delay = max(0.0, (when - timezone.now()).total_seconds()) + 0.05
            self._timer = threading.Timer(delay, self._fire)
            self._timer.daemon = True
            self._timer_at = when
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer, self._timer_at = None, None
        self.wake()

    def wait_idle(self, timeout: float) -> bool:
        """Until no scan or send is queued or running (for tests and shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = None, None
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            self._queued.clear()
            self._scan_queued = False


runtime = Runtime()


def wake() -> None:
    """Called on commit after deliveries were planned: start sending now."""
    runtime.wake()
