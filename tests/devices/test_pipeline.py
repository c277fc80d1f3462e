"""The join from devices up to the apps acting on stored events is one explicit list, built by
registrations in the upper apps' AppConfig.ready(): this keeps that list what the devices
module docstring says it is."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from shouwang.devices import pipeline
from shouwang.devices.services.ingest import IngestResult


def test_the_registered_steps_are_exactly_the_documented_ones() -> None:
    # A step missing (an app forgot to register) or registered twice fails here.
    assert [pipeline.name(step) for step in pipeline.steps()] == [
        "shouwang.alerts.evaluate.on_ingest"
    ]
    assert "register(shouwang.alerts.evaluate.on_ingest)" in (pipeline.__doc__ or "")


def test_registering_a_step_twice_is_refused() -> None:
    (step,) = pipeline.steps()
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        pipeline.register(step)
    assert pipeline.steps() == (step,)


def test_steps_run_in_order_and_only_for_something_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def first(result: IngestResult) -> None:
        calls.append("first")

    def second(result: IngestResult) -> None:
        calls.append("second")

    monkeypatch.setattr(pipeline, "_steps", [])
    pipeline.register(first)
    pipeline.register(second)
    pipeline.run(IngestResult())
    assert calls == []
    pipeline.run(IngestResult(stored=0, health=[object()]))  # type: ignore[list-item]
    assert calls == ["first", "second"]
