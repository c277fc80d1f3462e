"""Passes tests: signing keys in a private temporary var/, a clock, and a way to quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from shouwang.core.models import Person
from shouwang.passes.services import gates, keys, verify
from shouwang.quarantine.models import Case, CaseStatus, Source
from shouwang.quarantine.services.cases import CaseData, end_case, start_case

# Monday 2 March 2026, 09:00 in Shanghai.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_var(settings: Any, tmp_path: Path) -> Iterator[None]:
    # Each test signs with its own keys, kept in its own var/ (never the developer's).
    settings.VAR_DIR = tmp_path
    keys.forget_cache()
    gates.forget_cache()
    verify.forget_cache()
    yield
    keys.forget_cache()
    gates.forget_cache()
    verify.forget_cache()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def quarantine(person: Person, actor: Any = None) -> Case:
    """Start a home-quarantine case through the quarantine app's own action."""
    return start_case(
        actor,
        person.household,
        CaseData(people=[person], source=Source.CLOSE_CONTACT, no_device_reason="门磁缺货"),
    )


def end_quarantine(case: Case, actor: Any = None) -> Case:
    return end_case(actor, case, CaseStatus.COMPLETED)
