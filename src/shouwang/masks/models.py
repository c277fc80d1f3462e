"""Mask reservation: rounds, pickup points and their stock, reservations.

A round is a window in which residents reserve `per_person` masks at one pickup point, first
come first served. Stock lives on `RoundPoint.remaining` and changes only by conditional
`UPDATE`s (`services/reserve.py`); a check constraint keeps it between 0 and the stock, so the
database itself refuses an oversell. A person is known by the blind index of their ID number
(`id_index`), never by decrypting: one ID reserves once per `limit_days` across all rounds
and points.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import identity
from shouwang.core.fields import EncryptedTextField
from shouwang.core.models import Area
from shouwang.core.scoping import ScopedQuerySet


class PickupPoint(models.Model):
    """A pharmacy or community point where reserved masks are picked up."""

    scope_path = "area__path"

    name = models.CharField(pgettext_lazy("place", "name"), max_length=100)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="pickup_points"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet["PickupPoint"].as_manager()

    class Meta:
        verbose_name = _("pickup point")
        verbose_name_plural = _("pickup points")
        ordering = ["area__path", "name"]

    def __str__(self) -> str:
        return self.name


class Round(models.Model):
    """One reservation window for the town (or a part of it)."""

    scope_path = "area__path"

    name = models.CharField(pgettext_lazy("round", "name"), max_length=100)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="mask_rounds"
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    per_person = models.PositiveIntegerField(_("masks per person"), default=5)
    limit_days = models.PositiveIntegerField(_("one reservation per ID every (days)"), default=7)
    # A reservation is picked up within this many hours of being made, or released to stock.
    pickup_hours = models.PositiveIntegerField(_("hours to pick up"), default=48)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ScopedQuerySet["Round"].as_manager()

    class Meta:
        verbose_name = _("reservation round")
        verbose_name_plural = _("reservation rounds")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="masks_round_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(per_person__gte=1), name="masks_round_per_person_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoundPoint(models.Model):
    """A pickup point's stock in one round (masks, not reservations)."""

    scope_path = "point__area__path"

    round = models.ForeignKey(
        Round, verbose_name=_("round"), on_delete=models.CASCADE, related_name="points"
    )
    point = models.ForeignKey(
        PickupPoint, verbose_name=_("pickup point"), on_delete=models.PROTECT, related_name="+"
    )
    stock = models.PositiveIntegerField(_("stock"))
    remaining = models.IntegerField(_("remaining"))

    objects = ScopedQuerySet["RoundPoint"].as_manager()

    class Meta:
        verbose_name = _("stock at a pickup point")
        verbose_name_plural = _("stock at pickup points")
        ordering = ["round_id", "point__name"]
        constraints = [
            models.UniqueConstraint(fields=["round", "point"], name="masks_one_stock_per_point"),
            # The last line against an oversell: no statement can take stock below zero.
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, remaining__lte=models.F("stock")),
                name="masks_remaining_within_stock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} · {self.point}"


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    CANCELLED = "cancelled", _("Cancelled")
    PICKED_UP = "picked_up", _("Picked up")
    RELEASED = "released", _("Not picked up: released")


class Reservation(identity.MaskedContact, models.Model):  # noqa: DJ008 - MaskedContact's __str__
    scope_path = "stock__point__area__path"

    round = models.ForeignKey(
        Round, verbose_name=_("round"), on_delete=models.PROTECT, related_name="reservations"
    )
    stock = models.ForeignKey(
        RoundPoint,
        verbose_name=_("pickup point"),
        on_delete=models.PROTECT,
        related_name="reservations",
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    id_number = EncryptedTextField(_("ID number"))
    # Blind index of the ID number (the residents' own, `core.services.people.id_index`): the
    # per-ID limit is checked on it alone.
    id_index = models.CharField(max_length=64)
    phone = EncryptedTextField(_("phone number"))
    quantity = models.PositiveIntegerField(_("masks"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ReservationStatus.choices,
        default=ReservationStatus.RESERVED,
    )
    # The form's one-time key: a double tap or a resent request reserves once.
    idempotency_key = models.CharField(max_length=64, unique=True)
    # SHA-256 of the resident's link token (the link is the key to this one reservation).
    link_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("reserved at"))
    # The end of the pickup slot: after it an unpicked reservation is released to stock.
    slot_end = models.DateTimeField(_("pick up by"))
    # The short numeric code (the QR code's fallback), shown on the resident's page; found at
    # the point by the blind index of point and code.
    pin = EncryptedTextField(_("pickup code"))
    pin_index = models.CharField(max_length=64, unique=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handed out by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ScopedQuerySet["Reservation"].as_manager()

    class Meta:
        verbose_name = _("mask reservation")
        verbose_name_plural = _("mask reservations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["id_index", "created_at"], name="masks_resv_id_time"),
            models.Index(fields=["status", "slot_end"], name="masks_resv_due"),
        ]

    @property
    def masked_id_number(self) -> str:
        return identity.mask_id_number(self.id_number)
