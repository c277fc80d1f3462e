"""Mask rounds in Django admin, for the platform admin to look things up. Read-only: rounds and
stock change through `services/rounds.py`, reservations through the resident's page."""

from __future__ import annotations

from django.contrib import admin

from shouwang.core.admin import ReadOnlyAdmin
from shouwang.masks.models import PickupPoint, Reservation, Round, RoundPoint


@admin.register(PickupPoint)
class PickupPointAdmin(ReadOnlyAdmin):
    list_display = ["name", "area", "address", "active"]


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = ["name", "area", "opens_at", "closes_at", "per_person", "limit_days"]


@admin.register(RoundPoint)
class RoundPointAdmin(ReadOnlyAdmin):
    list_display = ["round", "point", "stock", "remaining"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["masked_name", "round", "stock", "quantity", "status", "created_at"]
    exclude = ["name", "id_number", "id_index", "phone", "idempotency_key", "link_hash"]
