"""What happens after an alert changes: the live console and the channels are told, once the
change is committed (never about something that was rolled back).

Deliveries are planned inside the transaction (so a crash after commit loses none); the live
bus and the sender are woken on commit.
"""

from __future__ import annotations

from django.db import transaction

from shouwang.alerts.models import Alert


def after_change(alert: Alert, reason: str) -> None:
    from shouwang.alerts import bus
    from shouwang.alerts.notify import dispatch, fast

    # Everyone who hears of it, the family of the alert's person included
    # (`notify.recipients`), is planned here.
    planned = dispatch.plan(alert, reason)
    payload = bus.alert_event(alert, reason)
    # The console first: it never waits for a channel's I/O.
    transaction.on_commit(lambda: bus.publish(payload))
    if planned.first:
        transaction.on_commit(lambda: fast.runtime.submit(planned.first))
    if planned.queued:
        transaction.on_commit(dispatch.wake)
