"""The Watch model moved from the alerts app to this one without copying a row: its table,
rows, index and the foreign keys of cases and care enrolments stay as they were. Run on
SQLite and on PostgreSQL (the suite's two databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shouwang.quarantine.models import Case, Watch, WatchKind
from tests.conftest import Town

BEFORE = [
    ("alerts", "0003_delivery_recipients"),
    ("quarantine", "0002_family_notices_are_deliveries"),
]
AFTER = [("alerts", "0004_watch_moved"), ("quarantine", "0003_watch")]


@pytest.mark.django_db(transaction=True)
def test_watches_and_their_cases_survive_the_move_both_ways(town: Town) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldWatch = old.get_model("alerts", "Watch")
    OldCase = old.get_model("quarantine", "Case")
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    watch = OldWatch.objects.create(
        kind="quarantine", household_id=town.east_home.pk, starts_at=at, params={"x": 1}
    )
    case = OldCase.objects.create(
        area_id=town.east.pk,
        household_id=town.east_home.pk,
        source="close_contact",
        starts_on=at.date(),
        duration_days=14,
        planned_end=at.date(),
        started_at=at,
        watch_id=watch.pk,
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    moved = Watch.objects.get(pk=watch.pk)
    assert (moved.kind, moved.household_id, moved.params) == (
        WatchKind.QUARANTINE,
        town.east_home.pk,
        {"x": 1},
    )
    assert Case.objects.get(pk=case.pk).watch == moved
    assert list(town.east_home.watches.all()) == [moved]
    # Back again (a rollback of the release) keeps them too.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    assert old.get_model("alerts", "Watch").objects.get(pk=watch.pk).params == {"x": 1}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Watch.objects.count() == 1
