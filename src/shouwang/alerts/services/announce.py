"""What happens after an alert changes: the live console and the channels are told, once the
change is committed (never about something that was rolled back).

Deliveries are planned inside the transaction (so a crash after commit loses none); the live
bus and the sender are woken on commit.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from shouwang.alerts.models import Alert

# Other apps that tell someone else of an alert (the care watch tells a person's family) add a
# function here at start-up; it runs inside the alert's transaction, like `dispatch.plan`.
AFTER_CHANGE: list[Callable[[Alert, str], None]] = []


def after_change(alert: Alert, reason: str) -> None:
    from shouwang.alerts import bus
    from shouwang.alerts.notify import dispatch

    planned = dispatch.plan(alert, reason)
    for hook in AFTER_CHANGE:
        hook(alert, reason)
    payload = bus.alert_event(alert, reason)
    transaction.on_commit(lambda: bus.publish(payload))
    if planned:
        transaction.on_commit(dispatch.wake)
