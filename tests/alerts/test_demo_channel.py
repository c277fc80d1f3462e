"""Notifications in the demo, and saying plainly when there are none.

`shouwang demo` hosts a receiver on this machine (`runtime/inbox.py`) and seeds a JSON webhook
channel to it for the whole town (`alerts/demo.py`), so a door alert is delivered as it would
be to a WeCom group: printed in the demo's terminal and shown as sent on the alert's page.
Where no channel reaches a worker's areas, the console and the alert's page say so instead
of leaving the worker to believe that someone was told. (The demo process itself printing a
notification: tests/core/test_cli.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone

from shouwang.alerts.demo import DEMO_CHANNEL, demo_part
from shouwang.alerts.models import Alert, Channel, ChannelKind, Delivery, Severity, Subscription
from shouwang.alerts.notify import sender
from shouwang.alerts.services.alerting import Trigger, raise_alert
from shouwang.alerts.services.channels import set_up_channel
from shouwang.core.demo import DemoTown
from shouwang.core.models import AuditLog
from shouwang.runtime.inbox import Inbox
from tests.conftest import Town, login

ADDRESS = "东风花园 3号楼 2单元501"
NO_CHANNEL = 'data-testid="no-channel"'


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, list[str]]]:
    printed: list[str] = []
    receiver = Inbox(printed.append).start()
    yield receiver, printed
    receiver.stop()


def _door_alert(town: Town) -> Alert:
    return raise_alert(
        Trigger(
            kind="quarantine_door_open",
            subject=f"household:{town.east_home.pk}",
            at=timezone.now(),
            title=ADDRESS,
            area=town.east_home.area,
            severity=Severity.CRITICAL,
            household=town.east_home,
        )
    )


def test_the_demo_channel_delivers_a_door_alert_to_the_demos_receiver(
    town: Town, inbox: tuple[Inbox, list[str]]
) -> None:
    receiver, printed = inbox
    demo = DemoTown("守望街道", street=town.street, notify_url=receiver.url)
    demo_part(demo)
    demo_part(demo)  # a second run of the demo adds nothing
    channel = Channel.objects.get()
    assert (channel.name, channel.kind, channel.target) == (
        DEMO_CHANNEL,
        ChannelKind.WEBHOOK,
        receiver.url,
    )
    assert list(Subscription.objects.values_list("area", flat=True)) == [town.street.pk]
    assert AuditLog.objects.filter(action="channel.create").count() == 1

    alert = _door_alert(town)
    sender.run_due()
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert len(receiver.received) == 1
    assert len(printed) == 1
    assert printed[0].startswith("[通知]")
    assert ADDRESS in printed[0]

    # The worker sees who was told, and the console does not claim that nobody was.
    client = login(town.east_worker)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f"{DEMO_CHANNEL} · 已发送" in page
    assert NO_CHANNEL not in page
    assert NO_CHANNEL not in client.get("/alerts/").content.decode()


def test_a_later_demo_run_points_the_channel_at_its_receivers_new_port(
    town: Town, inbox: tuple[Inbox, list[str]]
) -> None:
    demo_part(DemoTown("守望街道", street=town.street, notify_url="json://127.0.0.1:9/"))
    receiver, _printed = inbox
    demo_part(DemoTown("守望街道", street=town.street, notify_url=receiver.url))
    assert list(Channel.objects.values_list("target", flat=True)) == [receiver.url]
    assert Subscription.objects.count() == 1
    # Without a receiver (seed only) nothing is seeded.
    Channel.objects.all().delete()
    demo_part(DemoTown("守望街道", street=town.street))
    assert not Channel.objects.exists()


def test_a_channel_target_that_cannot_work_is_refused(town: Town) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        set_up_channel(
            None, name="坏的", kind=ChannelKind.WEBHOOK, target="ftp://x/", area=town.east
        )
    assert not Channel.objects.exists()


def test_the_console_and_the_alert_page_say_when_no_channel_is_set_up(town: Town) -> None:
    alert = _door_alert(town)
    east = login(town.east_worker)

    def says_nobody_is_told() -> tuple[bool, bool]:
        console = east.get("/alerts/").content.decode()
        detail = east.get(f"/alerts/{alert.pk}/").content.decode()
        return NO_CHANNEL in console, NO_CHANNEL in detail

    assert says_nobody_is_told() == (True, True)
    console = east.get("/alerts/").content.decode()
    assert "没有配置通知渠道" in console  # in Chinese, plainly

    # A channel for the other community, or an inactive one, does not reach this worker.
    set_up_channel(
        None,
        name="向阳社区群",
        kind=ChannelKind.WEBHOOK,
        target="json://127.0.0.1:9/",
        area=town.west,
    )
    town_channel = set_up_channel(
        None,
        name="街道群",
        kind=ChannelKind.WEBHOOK,
        target="json://127.0.0.1:9/",
        area=town.street,
    )
    Channel.objects.filter(pk=town_channel.pk).update(active=False)
    assert says_nobody_is_told() == (True, True)
    assert NO_CHANNEL not in login(town.west_worker).get("/alerts/").content.decode()

    # The town's channel, active again: it hears this worker's alerts.
    Channel.objects.filter(pk=town_channel.pk).update(active=True)
    assert says_nobody_is_told() == (False, False)
    # So does one for a compound inside the worker's community.
    Channel.objects.filter(pk=town_channel.pk).update(active=False)
    set_up_channel(
        None,
        name="东风花园物业群",
        kind=ChannelKind.WEBHOOK,
        target="json://127.0.0.1:9/",
        area=town.east_compound,
    )
    assert says_nobody_is_told()[0] is False
