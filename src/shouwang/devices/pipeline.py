"""What happens to a stored batch of device events next: the join from `devices` up to the apps
that act on them, made explicit.

`devices` sits below `alerts` and must not import it, so the upper app registers its step here
from its `AppConfig.ready()`:

    shouwang.alerts.apps.AlertsConfig.ready  →  register(shouwang.alerts.evaluate.on_ingest)

That is the only registration today (tests/devices/test_pipeline.py keeps this list true). Each
step runs inside the ingest transaction, in registration order, so what it writes (an alert)
commits or rolls back with the events that caused it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from shouwang.devices.services.ingest.records import IngestResult


class PipelineStep(Protocol):
    """Called with each committed-to-be batch (events and health changes), inside its
    transaction. Must not call back into ingest."""

    __module__: str
    __qualname__: str

    def __call__(self, result: IngestResult, /) -> None: ...


_steps: list[PipelineStep] = []


def register(step: PipelineStep) -> None:
    """Add `step` after the steps registered before it. Twice is a mistake (an app's ready()
    run twice, or two apps claiming the same step) and fails loudly."""
    if step in _steps:
        raise ImproperlyConfigured(f"pipeline step {name(step)} is registered twice")
    _steps.append(step)


def steps() -> tuple[PipelineStep, ...]:
    return tuple(_steps)


def name(step: PipelineStep) -> str:
    return f"{step.__module__}.{step.__qualname__}"


def run(result: IngestResult) -> None:
    """Hand what was just stored to the registered steps, inside the same transaction."""
    if result.events or result.health or result.incidents:
        for step in _steps:
            step(result)
