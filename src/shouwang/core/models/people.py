"""Households (the door: 3号楼2单元501) and the people who live in them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import identity
from shouwang.core.fields import EncryptedTextField
from shouwang.core.scoping import ScopedQuerySet


class Household(models.Model):
    scope_path = "area__path"

    area = models.ForeignKey(
        "core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="households"
    )
    # 门牌号 as the community writes it: "501", "东户", "12号".
    door = models.CharField(_("door number"), max_length=50)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet["Household"].as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["area__path", "door"]
        constraints = [models.UniqueConstraint(fields=["area", "door"], name="household_door")]

    def __str__(self) -> str:
        # The one way a home is written (东风花园 3号楼 2单元501), never the unit and door alone.
        return self.address

    @property
    def address(self) -> str:
        """The home as written everywhere, e.g. 东风花园 3号楼 2单元501 (see
        `core.addresses.household_address`). List pages fill it for all their rows at
        once (`label_households`)."""
        known: str | None = getattr(self, "_address", None)
        if known is None:
            from shouwang.core.addresses import ancestor_names, household_address

            known = household_address(self, ancestor_names([self.area]))
            self._address = known
        return known

    def prefill_address(self, address: str) -> None:
        self._address = address


class Tag(models.Model):
    """A label later features act on: 独居老人 (care watch), 居家隔离中 (gate denial)…"""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    # System tags are set by actions (a quarantine case starting), never by hand or import.
    system = models.BooleanField(_("set by the system only"), default=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Person(identity.MaskedContact, models.Model):  # noqa: DJ008 - __str__: the masked name
    scope_path = "household__area__path"

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="residents"
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    id_number = EncryptedTextField(_("ID number"))
    # Blind index: HMAC of the ID number, so a person is found by ID without decrypting rows.
    # NULL, not "", for people without an ID number: many NULLs may share a unique column.
    id_number_index = models.CharField(max_length=64, null=True, blank=True, unique=True)
    phone = EncryptedTextField(_("phone number"))
    phone_index = models.CharField(max_length=64, null=True, blank=True, db_index=True)  # noqa: DJ001
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="people")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedQuerySet["Person"].as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household_id", "id"]
        permissions = [
            ("reveal_personal_data", _("Can reveal full ID and phone numbers")),
            ("import_residents", _("Can import resident rosters")),
            ("export_residents", _("Can export residents")),
        ]

    @property
    def masked_id_number(self) -> str:
        return identity.mask_id_number(self.id_number)
