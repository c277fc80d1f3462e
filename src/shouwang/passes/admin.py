"""Passes in Django admin, for the platform admin to look things up. Read-only: every change
goes through an action with a reason (the pass page, `shouwang pass_keys`, `shouwang
gate_device`), never a bare edit."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core.admin import ReadOnlyAdmin
from shouwang.passes.models import GateDevice, Pass, Scan, SigningKey, Visitor


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["kid", "status", "created_at", "retired_at"]


@admin.register(GateDevice)
class GateDeviceAdmin(ReadOnlyAdmin):
    list_display = ["name", "compound", "prefix", "active", "last_used_at", "last_synced_at"]
    exclude = ["key_hash"]


@admin.register(Pass)
class PassAdmin(ReadOnlyAdmin):
    list_display = ["holder_name", "kind", "status", "valid_from", "valid_until", "kid"]
    list_filter = ["status", "kind"]
    exclude = ["person", "code", "link_hash"]


@admin.register(Scan)
class ScanAdmin(ReadOnlyAdmin):
    list_display = ["at", "compound", "gate", "direction", "allowed", "reason", "holder_name"]
    list_filter = ["allowed", "reason", "offline"]
    exclude = ["person"]


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ["name_shown", "phone_shown", "compound", "at"]
    exclude = ["name", "phone"]

    @admin.display(description=pgettext_lazy("person", "name"))
    def name_shown(self, visitor: Visitor) -> str:
        return visitor.masked_name

    @admin.display(description=_("phone number"))
    def phone_shown(self, visitor: Visitor) -> str:
        return visitor.masked_phone
