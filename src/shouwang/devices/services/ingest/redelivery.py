"""Telling a broker's redelivery from a genuine repeat, for messages without a message id.

Zigbee2MQTT (without `last_seen`, its default) sends the same bytes for the same state, so
content alone cannot say whether a message is new. MQTT can: a PUBLISH the broker sends again
(the bridge committed it but died before its PUBACK) carries the DUP flag and, within the
session, its original packet id. So each device keeps a short window of the MQTT deliveries
stored lately (packet id + digest of the content, bounded by WINDOW_TIME and
WINDOW_ENTRIES), written in the same transaction as the events, and:

- a DUP message whose (packet id, digest) is in the window is the redelivery of a stored one:
  dropped;
- a message without DUP is a first delivery, so a genuine new state, even when its content
  repeats an earlier message exactly;
- a DUP message not in the window was never stored (the crash came before the commit): stored.

The packet id makes "the same message" precise: two different messages of one device with the
same content (door open, closed, open again) differ in packet id, so a redelivered third one is
not mistaken for the first. Not covered: a shared subscription's message redelivered to
another bridge of the group (a new session, a new packet id) — Mosquitto and EMQX send those
to the same session when it comes back within its expiry.

Transports without DUP (HTTP pushes without message ids) keep the older rule: identical to the
device's last message within REDELIVERY_WINDOW is a retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# HTTP: identical to the device's last message within this time is a retry.
REDELIVERY_WINDOW = timedelta(minutes=10)
# MQTT: a redelivery may come as late as the broker keeps the session (the bridge's default
# session expiry); a false match needs DUP, the same packet id and the same content.
WINDOW_TIME = timedelta(hours=24)
# More than a device sends within one in-flight window of the bridge's session.
WINDOW_ENTRIES = 64
# One entry: seconds since the epoch (8 hex), packet id (4 hex), content digest (12 hex).
_WIDTH = 24


def entry(at: datetime, mid: int, digest: str) -> str:
    return f"{int(at.timestamp()) & 0xFFFFFFFF:08x}{mid & 0xFFFF:04x}{digest[:12]}"


def key(entry_text: str) -> str:
    """The part of an entry that names the delivery (packet id and digest), without its time."""
    return entry_text[8:_WIDTH]


def delivery_key(mid: int, digest: str) -> str:
    return f"{mid & 0xFFFF:04x}{digest[:12]}"


def entries(window: str) -> list[str]:
    return [window[i : i + _WIDTH] for i in range(0, len(window) - _WIDTH + 1, _WIDTH)]


def recent(window: str, now: datetime) -> set[str]:
    """The delivery keys of `window` still inside WINDOW_TIME at `now`."""
    oldest = int((now - WINDOW_TIME).timestamp())
    return {key(e) for e in entries(window) if int(e[:8], 16) >= oldest}


def added(window: str, new: list[str], now: datetime) -> str:
    """`window` with `new` entries appended, pruned by time and count."""
    oldest = int((now - WINDOW_TIME).timestamp())
    kept = [e for e in entries(window) + new if int(e[:8], 16) >= oldest]
    return "".join(kept[-WINDOW_ENTRIES:])
