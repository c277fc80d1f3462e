"""Back office for alerts: rule settings per area, channels, subscriptions, the delivery log.

A channel's target holds its secrets (bot keys, access keys): it is typed in once as plain
text, checked, stored encrypted, and only ever shown masked afterwards. Deliveries are a log:
read-only, filterable by status and channel, with an action to send failed ones again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shouwang.alerts import rules
from shouwang.alerts.models import Channel, Delivery, RuleSetting, Subscription
from shouwang.alerts.notify import channels, sender
from shouwang.core.admin import AuditedAdmin, LabelsHouseholds, ReadOnlyAdmin

TARGET_HELP = _(
    "WeCom: wecombot://KEY · DingTalk: dingtalk://SECRET@TOKEN/ (SECRET is the SEC… signing "
    "secret) · Feishu: feishu://TOKEN · e-mail: mailtos://user:password@smtp.example.com"
    "?to=duty@example.com · webhook: jsons://host/path · SMS: JSON with provider, "
    "access_key_id, access_key_secret, sign_name, template_code, phone_numbers (the template "
    "receives house, kind, name, phone and url). Every message title contains 守望, for a "
    "bot's keyword check."
)


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    new_target = forms.CharField(
        label=_("target"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=TARGET_HELP,
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "per_minute", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["new_target"].help_text = _(
                "Leave empty to keep the saved target, which is shown masked above."
            )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        kind = cleaned.get("kind")
        target = cleaned.get("new_target") or ""
        if not target and not self.instance.pk:
            self.add_error("new_target", gettext("A new channel needs a target."))
            return cleaned
        if kind and (target or kind != self.instance.kind):
            try:
                channels.validate_target(kind, target or self.instance.target or "")
            except ValueError as exc:
                # The reason names what is wrong, never the secret itself.
                self.add_error("new_target" if target else "kind", str(exc))
        return cleaned

    def save(self, commit: bool = True) -> Channel:
        channel: Channel = super().save(commit=False)
        if self.cleaned_data.get("new_target"):
            channel.target = self.cleaned_data["new_target"]
        if commit:
            channel.save()
        return channel


@admin.register(Channel)
class ChannelAdmin(AuditedAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "masked_target", "per_minute", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    readonly_fields = ["masked_target"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "kind", "new_target", "per_minute", "active"]
        return ["name", "kind", "masked_target", "new_target", "per_minute", "active"]

    @admin.display(description=_("target"))
    def masked_target(self, obj: Channel) -> str:
        return channels.masked_target(obj.kind, obj.target)


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(rule.label)) for kind, rule in rules.KINDS.items() if not rule.settings_only]


class SubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]
    kinds = forms.MultipleChoiceField(
        label=_("alert kinds (empty: all)"),
        required=False,
        choices=_kind_choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Subscription
        fields = ["channel", "user", "area", "kinds", "min_severity", "escalation_level"]
        help_texts = {
            "user": _("Alerts in this staff member's areas."),
            "area": _("Alerts in this area and everything below it."),
            "escalation_level": _(
                "0: the community's own alerts; 1: those nobody acknowledged, one level up…"
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not cleaned.get("user") and not cleaned.get("area"):
            raise forms.ValidationError(gettext("Choose a staff member or an area (or both)."))
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(AuditedAdmin):
    form = SubscriptionForm
    list_display = ["channel", "user", "area", "kinds_label", "min_severity", "escalation_level"]
    list_filter = ["channel", "min_severity", "escalation_level"]
    list_select_related = ["channel", "user", "area"]
    raw_id_fields = ["user", "area"]

    @admin.display(description=_("alert kinds"))
    def kinds_label(self, obj: Subscription) -> str:
        if not obj.kinds:
            return gettext("all")
        labels = dict(_kind_choices())
        return "、".join(labels.get(kind, kind) for kind in obj.kinds)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: what was sent where, what failed and why. Read-only."""

    list_display = [
        "created_at",
        "alert_title",
        "channel",
        "reason",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "digest_of",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    list_select_related = ["alert", "channel"]
    search_fields = ["alert__title", "last_error"]
    date_hierarchy = "created_at"
    actions = ["requeue"]
    fields = readonly_fields = (
        "alert",
        "channel",
        "reason",
        "status",
        "created_at",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "digest_of",
        "last_error",
    )

    @admin.display(description=_("alert"), ordering="alert__title")
    def alert_title(self, obj: Delivery) -> str:
        return obj.alert.title

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("alerts.change_delivery"))

    @admin.action(description=_("Send the failed ones again"), permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = sender.requeue(request.user, queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(n)d delivery will be sent again.", "%(n)d deliveries will be sent again.", count
            )
            % {"n": count},
            messages.SUCCESS,
        )


def _all_rule_choices() -> list[tuple[str, str]]:
    return [(kind, str(rule.label)) for kind, rule in rules.KINDS.items()]


def _defaults_help() -> str:
    lines = [
        f"{kind}: {json.dumps(rule.params, ensure_ascii=False)}"
        for kind, rule in rules.KINDS.items()
        if rule.params
    ]
    return gettext("Only the settings you change; the rule's defaults are: ") + " · ".join(lines)


def clean_params(kind: str, params: Any) -> dict[str, Any]:
    """`params` checked against the rule's defaults: known names, values of the same type
    (a number for a number, "HH:MM" for a time of day). Raises ValidationError naming what is
    wrong, so a typo cannot silently leave a town on the default."""
    if params in (None, ""):
        return {}
    if not isinstance(params, dict):
        raise forms.ValidationError(gettext("Settings must be a JSON object."))
    defaults = rules.KINDS[kind].params
    errors = []
    for name, value in params.items():
        if name not in defaults:
            errors.append(
                gettext("%(name)s is not a setting of this rule (it has: %(names)s).")
                % {"name": name, "names": ", ".join(defaults) or "—"}
            )
            continue
        default = defaults[name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        elif isinstance(default, str) and _TIME.fullmatch(default):
            ok = isinstance(value, str) and _TIME.fullmatch(value) is not None
        else:
            ok = isinstance(value, type(default))
        if not ok:
            errors.append(
                gettext("%(name)s must look like %(example)s.")
                % {"name": name, "example": json.dumps(default)}
            )
    if errors:
        raise forms.ValidationError(errors)
    return dict(params)


_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class RuleSettingForm(forms.ModelForm):  # type: ignore[type-arg]
    kind = forms.ChoiceField(label=_("rule"), choices=_all_rule_choices)

    class Meta:
        model = RuleSetting
        fields = ["kind", "area", "household", "person", "enabled", "severity", "params"]
        help_texts = {
            "area": _("Applies to this area and everything below it, unless overridden there."),
            "household": _("Or one household only."),
            "person": _("Or one person only."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["params"].help_text = _defaults_help()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        targets = [cleaned.get(name) for name in ("area", "household", "person")]
        if sum(target is not None for target in targets) != 1:
            raise forms.ValidationError(gettext("Choose exactly one of area, household or person."))
        kind = cleaned.get("kind")
        if kind in rules.KINDS:
            try:
                cleaned["params"] = clean_params(kind, cleaned.get("params"))
            except forms.ValidationError as exc:
                self.add_error("params", exc)
        return cleaned


@admin.register(RuleSetting)
class RuleSettingAdmin(LabelsHouseholds, AuditedAdmin):
    form = RuleSettingForm
    list_display = ["kind_label", "area", "household", "person", "enabled", "severity", "params"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["area", "household__area", "person"]
    raw_id_fields = ["area", "household", "person"]

    @admin.display(description=_("rule"))
    def kind_label(self, obj: RuleSetting) -> str:
        rule = rules.KINDS.get(obj.kind)
        return str(rule.label) if rule else obj.kind
