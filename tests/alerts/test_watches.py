"""Starting and ending watches: the actions the quarantine and care features build on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from shouwang.alerts.models import Alert
from shouwang.core.models import AuditLog
from shouwang.quarantine.models import WatchKind
from shouwang.quarantine.services.watches import end_watch, start_watch
from tests.alerts.conftest import T0, Door
from tests.conftest import Town


def test_a_started_watch_arms_the_door_rule_and_ending_it_disarms(town: Town, door: Door) -> None:
    watch = start_watch(
        town.east_worker,
        WatchKind.QUARANTINE,
        town.east_home,
        town.east_person,
        starts_at=T0,
        ends_at=T0 + timedelta(days=14),
    )
    door("open", T0 + timedelta(hours=1))
    assert Alert.objects.count() == 1
    end_watch(town.east_worker, watch, at=T0 + timedelta(hours=2))
    door("closed", T0 + timedelta(hours=3))
    door("open", T0 + timedelta(hours=4))
    assert Alert.objects.count() == 1
    assert AuditLog.objects.filter(action__startswith="watch.").count() == 2


def test_watch_input_is_checked(town: Town) -> None:
    with pytest.raises(ValidationError):
        start_watch(town.east_worker, WatchKind.QUARANTINE, town.east_home, town.west_person)
    with pytest.raises(ValidationError):
        start_watch(
            town.east_worker,
            WatchKind.CARE,
            town.east_home,
            starts_at=T0,
            ends_at=T0 - timedelta(days=1),
        )
    with pytest.raises(Http404):
        start_watch(town.east_worker, WatchKind.CARE, town.west_home)
