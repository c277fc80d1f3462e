"""Setting up a notification channel without the admin's form: the demo's webhook to its own
receiver (`alerts.demo`). Platform admins use the admin (`alerts.admin.ChannelForm`), which
validates the target the same way."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from shouwang.alerts.models import Channel, Subscription
from shouwang.alerts.notify import channels
from shouwang.core import audit
from shouwang.core.models import Area
from shouwang.core.permissions import require

CHANGE_CHANNELS = "alerts.change_channel"


def set_up_channel(
    actor: Any, *, name: str, kind: str, target: str, area: Area, per_minute: int = 0
) -> Channel:
    """The active channel called `name`, created or pointed at `target`, hearing the alerts of
    `area` and below (one subscription). Running it again changes nothing but the target."""
    require(actor, CHANGE_CHANNELS)
    try:
        channels.validate_target(kind, target)
    except ValueError as exc:
        raise ValidationError({"target": [str(exc)]}) from exc
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(name=name).first()
        created = channel is None
        if channel is None:
            channel = Channel(name=name, kind=kind, per_minute=per_minute)
        changed = created or channel.target != target or channel.kind != kind or not channel.active
        channel.kind, channel.target, channel.active = kind, target, True
        if changed:
            channel.save()
        _sub, subscribed = Subscription.objects.get_or_create(
            channel=channel, area=area, user=None, escalation_level=0
        )
        if changed or subscribed:
            audit.record(
                "channel.create" if created else "channel.change",
                actor=actor,
                target=channel,
                area=area,
                details={"kind": kind, "subscribed": subscribed},
            )
    return channel
