"""The demo's notification channel: a JSON webhook to the receiver that `shouwang demo` hosts
on this machine (`runtime/inbox.py`), subscribed for the whole town. A door alert in the demo
is then delivered as it would be to a WeCom group: it shows as sent on the alert's page, and the
receiver prints it in the demo's terminal.

Seeded only when the demo runs its receiver (`DemoTown.notify_url`); a later run points the
same channel at the receiver's new address."""

from __future__ import annotations

from shouwang.alerts.models import ChannelKind
from shouwang.alerts.services.channels import set_up_channel
from shouwang.core.demo import DemoTown

DEMO_CHANNEL = "演示通知收件箱（本机）"


def demo_part(town: DemoTown) -> None:
    """Registered with `core.demo` in `AlertsConfig.ready()`."""
    if not town.notify_url or town.street is None:
        return
    set_up_channel(
        None,
        name=DEMO_CHANNEL,
        kind=ChannelKind.WEBHOOK,
        target=town.notify_url,
        area=town.street,
    )
