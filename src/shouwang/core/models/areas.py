"""The area tree: district → street/town → community/village → compound → building → unit.

A materialised path (django-treebeard's MP_Node) makes "everything under this area" one indexed
`path LIKE 'prefix%'` query, and moving a subtree rewrites the paths below it in SQL.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from shouwang.core.scoping import ScopedQuerySet


class AreaKind(models.IntegerChoices):
    # The value is the level: a child is always of a higher level than its parent.
    DISTRICT = 1, _("District")
    STREET = 2, _("Street / town")
    COMMUNITY = 3, _("Community / village")
    COMPOUND = 4, _("Compound")
    BUILDING = 5, _("Building")
    UNIT = 6, _("Unit")


class AreaQuerySet(MP_NodeQuerySet, ScopedQuerySet["Area"]):  # type: ignore[misc]
    pass


class AreaManager(MP_NodeManager.from_queryset(AreaQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> AreaQuerySet:
        # treebeard hard-codes its own queryset class; ours is also scoped.
        queryset: AreaQuerySet = AreaQuerySet(self.model, using=self._db).order_by("path")
        return queryset


class Area(MP_Node):  # type: ignore[misc]
    # Areas the user may see: their own areas and everything below them. Ancestors are not
    # visible (a worker does not browse the town); the names on the way down are shown
    # through `services.areas.ancestor_names`.
    scope_path = "path"

    name = models.CharField(_("name"), max_length=100)
    kind = models.PositiveSmallIntegerField(_("kind"), choices=AreaKind.choices)
    # The statistical division code (统计用区划代码) where one exists; optional for compounds.
    code = models.CharField(_("division code"), max_length=20, blank=True)

    objects = AreaManager()

    node_order_by: list[str] = []

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return str(AreaKind(self.kind).label)

    def ancestor_paths(self) -> list[str]:
        step = self.steplen
        return [self.path[:i] for i in range(step, len(self.path), step)]

    def subtree(self) -> Any:
        return Area.objects.filter(path__startswith=self.path)
