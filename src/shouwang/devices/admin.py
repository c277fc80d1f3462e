"""Back office for devices: models' settings, ingest keys, the registry, dead letters.

A device's status changes only through the lifecycle actions (install, recover, retire…), so
the registry is read-mostly here. An ingest key is created through `keys.create_ingest_key`,
which keeps only its hash: the plaintext is shown once, right after saving.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shouwang.core.admin import AuditedAdmin, LabelsHouseholds, ReadOnlyAdmin
from shouwang.devices.adapters import ADAPTERS
from shouwang.devices.models import DeadLetter, Device, DeviceKind, IngestKey
from shouwang.devices.services import keys

_PLAINTEXT_ATTR = "_shouwang_plaintext_key"


@admin.register(DeviceKind)
class DeviceKindAdmin(AuditedAdmin):
    list_display = ["model", "offline_after", "low_battery_percent"]
    search_fields = ["model"]


class IngestKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    adapter = forms.ChoiceField(label=_("adapter"), choices=[])

    class Meta:
        model = IngestKey
        fields = ["name", "adapter", "area", "config", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("adapter")  # read-only, so not in the form, once created
        if isinstance(field, forms.ChoiceField):
            field.choices = [(name, name) for name in sorted(ADAPTERS)]


@admin.register(IngestKey)
class IngestKeyAdmin(AuditedAdmin):
    form = IngestKeyForm
    list_display = ["name", "adapter", "prefix", "area", "active", "created_at", "last_used_at"]
    list_filter = ["adapter", "active"]
    search_fields = ["name", "prefix"]
    list_select_related = ["area"]
    raw_id_fields = ["area"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The adapter a key was made for is part of what it proves: make a new key instead.
        if obj is not None:
            return [*self.readonly_fields, "adapter"]
        return self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "adapter", "area", "config", "active"]
        return [
            "name",
            "adapter",
            "prefix",
            "area",
            "config",
            "active",
            "created_at",
            "last_used_at",
        ]

    def save_model(self, request: HttpRequest, obj: IngestKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The action creates and audits the key; the admin's object becomes that key.
        key, plaintext = keys.create_ingest_key(
            request.user,
            obj.name,
            obj.adapter,
            area=obj.area,
            config={str(k): str(v) for k, v in (obj.config or {}).items()},
        )
        if not obj.active:
            IngestKey.objects.filter(pk=key.pk).update(active=False)
            key.active = False
        obj.pk, obj.key_hash, obj.prefix = key.pk, key.key_hash, key.prefix
        obj.created_at = key.created_at
        obj._state.adding = False
        setattr(request, _PLAINTEXT_ATTR, plaintext)

    def response_add(
        self, request: HttpRequest, obj: IngestKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        plaintext = getattr(request, _PLAINTEXT_ATTR, None)
        if plaintext:
            messages.warning(
                request,
                gettext(
                    "The new ingest key is %(key)s — copy it now into the gateway's settings. "
                    "It is shown only this once: only its hash is stored."
                )
                % {"key": plaintext},
            )
        return super().response_add(request, obj, post_url_continue)


_DEVICE_FIELDS = (
    "adapter",
    "key",
    "hardware_id",
    "label",
    "model",
    "offline_after",
    "status",
    "area",
    "household",
    "last_seen_at",
    "state_at",
    "door",
    "door_changed_at",
    "battery_percent",
    "battery_mv",
    "battery_low",
    "tamper",
    "signal",
    "offline",
    "offline_since",
    "created_at",
)


@admin.register(Device)
class DeviceAdmin(LabelsHouseholds, AuditedAdmin):
    """Read-mostly: label, model and timeout are editable; the status moves by actions only."""

    list_display = [
        "__str__",
        "adapter",
        "key",
        "status",
        "area",
        "household",
        "last_seen_at",
        "offline",
        "battery_low",
        "tamper",
    ]
    list_filter = ["status", "adapter", "offline", "battery_low", "tamper"]
    search_fields = ["key", "label", "hardware_id"]
    list_select_related = ["area", "household__area"]
    fields = _DEVICE_FIELDS
    readonly_fields = tuple(
        f for f in _DEVICE_FIELDS if f not in ("label", "model", "offline_after")
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "adapter", "transport", "topic", "reason", "source"]
    list_filter = ["adapter", "transport"]
    search_fields = ["reason", "topic", "source"]
    date_hierarchy = "received_at"
    fields = ("received_at", "adapter", "transport", "topic", "source", "reason", "payload")
    readonly_fields = fields
