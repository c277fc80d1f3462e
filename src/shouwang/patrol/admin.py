"""Back office for checkpoints and cameras. A camera's snapshot URL and credentials are typed
in once, stored encrypted, and never shown back: the URL appears as its scheme and host, the
credentials as "saved"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shouwang.core.admin import AuditedAdmin, ReadOnlyAdmin
from shouwang.patrol.models import Camera, CameraAuth, Checkpoint, Snapshot, SnapshotSource

KEEP_HELP = _("Leave empty to keep the saved value (never shown).")


class CameraForm(forms.ModelForm):  # type: ignore[type-arg]
    new_url = forms.CharField(
        label=_("snapshot URL"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": 60}),
        help_text=_(
            "Hikvision: http://HOST/ISAPI/Streaming/channels/101/picture · Dahua: "
            "http://HOST/cgi-bin/snapshot.cgi · ONVIF: the device's snapshot URI."
        ),
    )
    new_username = forms.CharField(
        label=_("user name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    new_password = forms.CharField(
        label=_("password"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )

    class Meta:
        model = Camera
        fields = ["checkpoint", "name", "source", "auth", "live_url", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("new_url", "new_username", "new_password"):
                self.fields[name].help_text = KEEP_HELP

    def clean_new_url(self) -> str:
        url = str(self.cleaned_data.get("new_url") or "").strip()
        if url:
            forms.URLField(assume_scheme="http").clean(url)
            if not url.lower().startswith(("http://", "https://")):
                raise forms.ValidationError(gettext("The snapshot URL must start with http://."))
        return url

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        http = cleaned.get("source") == SnapshotSource.HTTP
        if http and not (cleaned.get("new_url") or self.instance.snapshot_url):
            self.add_error("new_url", gettext("A camera fetched over HTTP needs its snapshot URL."))
        return cleaned

    def save(self, commit: bool = True) -> Camera:
        camera: Camera = super().save(commit=False)
        for field in ("url", "username", "password"):
            value = self.cleaned_data.get(f"new_{field}")
            if value:
                setattr(camera, "snapshot_url" if field == "url" else field, value)
        if camera.auth == CameraAuth.NONE:
            camera.username = camera.password = None
        if commit:
            camera.save()
        return camera


class CameraInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Camera
    fields = ["name", "source", "masked_url", "status", "active"]
    readonly_fields = ["name", "source", "masked_url", "status", "active"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("snapshot URL"))
    def masked_url(self, obj: Camera) -> str:
        return obj.masked_url


@admin.register(Checkpoint)
class CheckpointAdmin(AuditedAdmin):
    list_display = ["name", "area", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "area__name"]
    list_select_related = ["area"]
    raw_id_fields = ["area"]
    inlines = [CameraInline]


@admin.register(Camera)
class CameraAdmin(AuditedAdmin):
    form = CameraForm
    list_display = ["name", "checkpoint", "source", "masked_url", "status", "active"]
    list_filter = ["source", "status", "active"]
    search_fields = ["name", "checkpoint__name"]
    list_select_related = ["checkpoint"]
    raw_id_fields = ["checkpoint"]
    readonly_fields = ["masked_url", "credentials", "status", "checked_at", "last_error"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = ["checkpoint", "name", "source", "new_url", "auth", "new_username"]
        editable += ["new_password", "live_url", "active"]
        if obj is None:
            return editable
        return [*editable[:3], "masked_url", *editable[3:], "credentials", "status", "checked_at"]

    @admin.display(description=_("snapshot URL"))
    def masked_url(self, obj: Camera) -> str:
        return obj.masked_url or "—"

    @admin.display(description=_("credentials"))
    def credentials(self, obj: Camera) -> str:
        return gettext("saved (not shown)") if obj.has_credentials else "—"


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["camera", "taken_at", "source", "size"]
    list_filter = ["source"]
    list_select_related = ["camera"]
    fields = ["camera", "taken_at", "source", "taken_by", "content_type", "size", "sha256"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("sealed")
