"""Which channels may carry a resident's full phone number, and the audit of each that did.

See `messages`: a message's phone is masked unless its channel reaches one named worker only.
Reading a full number out of Shouwang is a reveal like any other, so each delivery that carries
one writes an audit entry naming the worker, the channel, the alert and the person.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from shouwang.alerts.models import Alert, Channel, ChannelKind
from shouwang.alerts.notify import sms
from shouwang.core import audit


def _address_count(channel: Channel) -> int:
    target = channel.target or ""
    if channel.kind == ChannelKind.SMS:
        try:
            return len(sms.parse_settings(target).phone_numbers)
        except ValueError:
            return 0
    # apprise's mailto://account@host?to=a@x,b@y; without `to` it writes to the account itself.
    to = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("to", [])
    return len([a for a in re.split(r"[\s,;]+", ",".join(to)) if a]) if to else 1


def addressed_to(channel: Channel) -> Any:
    """The one staff member a channel reaches, or None when others may read it.

    A channel is personal when it is an SMS or e-mail channel with exactly one address and all
    its subscriptions name the same staff member. Bots post to groups, webhooks to systems:
    never personal."""
    if channel.kind not in (ChannelKind.SMS, ChannelKind.EMAIL):
        return None
    users = {s.user for s in channel.subscriptions.select_related("user")}
    if len(users) != 1:
        return None
    (user,) = users
    if user is None or not user.is_active or _address_count(channel) != 1:
        return None
    return user


def record(channel: Channel, reader: Any, alert: Alert) -> None:
    """One audit entry for one delivered message that carried a full phone number."""
    audit.record(
        "alert.notify_full_phone",
        actor=None,
        target=alert.person,
        area=alert.area,
        details={"channel": channel.pk, "to_user": reader.pk, "alert": alert.pk},
    )
