"""Every model is scoped, reached only through a scoped parent, or named here as not held by
area (with the reason). A new model that is none of these fails the walk, so a staff screen
or API cannot reach rows outside the user's areas by forgetting a filter."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.http import Http404

from shouwang.core.models import Area, Household, Person, Tag
from shouwang.core.scoping import ScopedQuerySet, get_visible, scope_path
from tests.conftest import Town

# Rows a staff screen or API shows only below a parent it fetched with `get_visible`:
# model label → the foreign key to that parent.
THROUGH_PARENT: dict[str, str] = {
    "devices.Installation": "device",
    "devices.DeviceEvent": "device",
    "devices.HealthEvent": "device",
    "alerts.AlertEntry": "alert",
    "alerts.Delivery": "alert",
    "quarantine.Watch": "household",
    "alerts.SuppressionWindow": "household",
    "quarantine.CaseMember": "case",
    "quarantine.CaseEndChange": "case",
    "quarantine.HealthCheck": "case",
    "quarantine.ResidentLink": "case",
    "quarantine.ServiceRecord": "case",
    "patrol.RoundStop": "round",
    "reporting.Contact": "organisation",
    "reporting.MemberLink": "member",
    "reporting.OrgKey": "organisation",
    "reporting.ApplicationEvent": "application",
    "reporting.Material": "application",
}

# Not held by area: platform settings and records only platform-wide roles (or nobody but
# the system) reach, through the Django admin or a management command.
NOT_BY_AREA: dict[str, str] = {
    "core.Tag": "labels shared by the whole platform",
    "core.User": "staff accounts: the platform admin manages them in the admin",
    "core.AuditLog": "read by platform-wide roles only (view_auditlog)",
    "devices.DeviceKind": "settings per sensor model, platform-wide",
    "devices.IngestKey": "network keys, created by the platform admin",
    "alerts.RuleSetting": "rule settings, edited in the admin",
    "alerts.Channel": "notification channels, edited in the admin",
    "alerts.Subscription": "who is told what, edited in the admin",
    "quarantine.FamilyContact": "reached only through its case member, never listed",
    "passes.SigningKey": "the platform's signing keys",
}


def _project_models() -> list[type[Model]]:
    return [m for m in apps.get_models() if m.__module__.startswith("shouwang.")]


def _ends_at_area_path(model: type[Model], lookup: str) -> bool:
    *relations, last = lookup.split("__")
    for name in relations:
        related = model._meta.get_field(name).related_model
        assert isinstance(related, type), f"{model.__name__}.{name} is not a relation"
        model = related
    return model is Area and last == "path"


def test_every_model_is_scoped_reached_through_a_scoped_parent_or_named() -> None:
    missing = []
    for model in _project_models():
        label = model._meta.label
        scoped = isinstance(model._default_manager.all(), ScopedQuerySet)
        if scoped:
            assert label not in THROUGH_PARENT, label
            assert label not in NOT_BY_AREA, label
            assert _ends_at_area_path(model, scope_path(model)), label
        elif label in THROUGH_PARENT:
            parent = model._meta.get_field(THROUGH_PARENT[label]).related_model
            assert isinstance(parent, type), label
            assert isinstance(parent._default_manager.all(), ScopedQuerySet), label
        elif label not in NOT_BY_AREA:
            missing.append(label)
    assert missing == [], f"not scoped and not explained: {missing}"
    labels = {m._meta.label for m in _project_models()}
    # Stale entries would hide a renamed model.
    assert set(THROUGH_PARENT) <= labels
    assert set(NOT_BY_AREA) <= labels


@pytest.mark.django_db
def test_each_scoped_model_filters_in_sql_for_a_worker(town: Town) -> None:
    for model in _project_models():
        manager = model._default_manager
        if isinstance(manager.all(), ScopedQuerySet):
            # Compiles and runs the lookup; a wrong scope_path fails here.
            assert manager.all().visible_to(town.east_worker).count() >= 0


@pytest.mark.django_db
def test_get_visible_by_model_and_by_queryset(town: Town) -> None:
    assert get_visible(town.east_worker, Person, town.east_person.pk) == town.east_person
    home = get_visible(
        town.east_worker, Household.objects.select_related("area"), town.east_home.pk
    )
    assert home == town.east_home
    with pytest.raises(Http404):
        get_visible(town.east_worker, Person, town.west_person.pk)
    with pytest.raises(Http404):
        get_visible(town.east_worker, Area, town.street.pk)  # above the worker's area
    with pytest.raises(Http404):
        get_visible(town.east_worker, Person, "not a number")
    # The system (None) and platform-wide roles see everything.
    assert get_visible(None, Person, town.west_person.pk) == town.west_person
    assert get_visible(town.town_operator, Area, town.street.pk) == town.street


@pytest.mark.django_db
def test_get_visible_refuses_a_model_that_is_not_scoped(town: Town) -> None:
    tag = Tag.objects.create(code="t", name="t")
    with pytest.raises(ImproperlyConfigured):
        get_visible(town.admin, Tag, tag.pk)
