"""Forms for the device screens: the list's filters, install and recover at the door, claim.

The install and recover forms turn what a worker typed or scanned into a device they may
handle, with the refusal worded for the screen; the lifecycle actions check again (and lock)
when the change is made, so a form that passed a moment ago cannot install a device twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shouwang.core.forms import Form
from shouwang.core.models import Area, AreaKind, Household
from shouwang.core.services import areas as area_service
from shouwang.devices.adapters import ADAPTERS
from shouwang.devices.models import Device, DeviceStatus, DoorState
from shouwang.devices.services.lifecycle import _normalise_id, find_device

# --- The device list's filters, shared by the page and the API ------------------------------


def filter_devices(queryset: QuerySet[Device], filters: Mapping[str, Any]) -> QuerySet[Device]:
    """Apply the list filters (status, adapter, door, offline, battery_low, tamper, q)."""
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("adapter"):
        queryset = queryset.filter(adapter=filters["adapter"])
    if filters.get("door"):
        queryset = queryset.filter(door=filters["door"])
    for flag in ("offline", "battery_low", "tamper"):
        # None: either. The page's checkboxes only ask for True; the API may ask for False.
        if isinstance(filters.get(flag), bool):
            queryset = queryset.filter(**{flag: filters[flag]})
    text = (filters.get("q") or "").strip()
    if text:
        match = Q(key__icontains=text) | Q(label__icontains=text) | Q(hardware_id__icontains=text)
        compact = _normalise_id(text)
        if compact and compact != text.lower():
            match |= Q(key__icontains=compact) | Q(hardware_id__icontains=compact)
        queryset = queryset.filter(match)
    return queryset


def _with_blank(choices: list[tuple[str, Any]], blank: Any) -> list[tuple[str, Any]]:
    return [("", blank), *choices]


class DeviceFilterForm(Form):
    q = forms.CharField(label=_("Device id, label or hardware id"), required=False, max_length=64)
    status = forms.ChoiceField(label=_("Status"), required=False)
    adapter = forms.ChoiceField(label=_("Network"), required=False)
    door = forms.ChoiceField(label=_("Door"), required=False)
    offline = forms.BooleanField(label=_("Offline"), required=False)
    battery_low = forms.BooleanField(label=_("Low battery"), required=False)
    tamper = forms.BooleanField(label=_("Tampered"), required=False)
    area = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("status", _with_blank(DeviceStatus.choices, _("Any status")))
        self._set_choices(
            "adapter", _with_blank([(a, a) for a in sorted(ADAPTERS)], _("Any network"))
        )
        self._set_choices("door", _with_blank(DoorState.choices, _("Door open or closed")))

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        if isinstance(field, forms.ChoiceField):
            field.choices = choices

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid one is ignored); an empty checkbox means "either"."""
        self.is_valid()
        data = dict(self.cleaned_data)
        for flag in ("offline", "battery_low", "tamper"):
            data[flag] = True if data.get(flag) else None
        return data


# --- Finding a household by what a worker types at the door ----------------------------------

_MAX_CANDIDATES = 500


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def find_households(user: Any, text: str, limit: int = 20) -> list[tuple[Household, str]]:
    """Visible households matching "3号楼2单元501", "2单元501", "501" or "3-2-501".

    A household matches when the typed text is part of its address (community down to the
    door), or when the numbers typed are the last numbers of its address (3-2-501 is building
    3, unit 2, door 501). Returns (household, address from the compound down) pairs, using one
    query for the households and one for the names on their way up.
    """
    compact = re.sub(r"\s+", "", text or "")
    if not compact:
        return []
    typed_numbers = _numbers(text)  # "3 2 501" is three numbers, not 32501
    doors = Q(door__in={compact[i:] for i in range(len(compact))})
    if typed_numbers:
        doors |= Q(door__contains=re.findall(r"\d+", text)[-1])
    candidates = list(
        Household.objects.visible_to(user)
        .filter(doors)
        .select_related("area")
        .order_by("area__path", "door")[:_MAX_CANDIDATES]
    )
    names = area_service.ancestor_names([h.area for h in candidates])
    found: list[tuple[Household, str]] = []
    for household in candidates:
        full = area_service.household_address(household, names, AreaKind.COMMUNITY)
        numbers = _numbers(full)
        by_numbers = bool(typed_numbers) and numbers[-len(typed_numbers) :] == typed_numbers
        if compact.lower() in full.replace(" ", "").lower() or by_numbers:
            found.append((household, area_service.household_address(household, names)))
            if len(found) >= limit:
                break
    return found


# --- Install and recover at the door ----------------------------------------------------------

NOT_FOUND = _("No device with this id among your devices. Check the id on the sticker.")


class _ScanForm(Form):
    device = forms.CharField(label=_("Device id"), max_length=200)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_device(self) -> Device:
        device = find_device(self.user, self.cleaned_data["device"])
        if device is None:
            raise forms.ValidationError(NOT_FOUND, code="not_found")
        return device


def _status_label(device: Device) -> str:
    return str(DeviceStatus(device.status).label)


class InstallForm(_ScanForm):
    """Step by step on one page: the device, then the household, then the confirmation."""

    q = forms.CharField(label=_("Household"), required=False, max_length=50)
    household = forms.IntegerField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_device(self) -> Device:
        device = super().clean_device()
        if device.status == DeviceStatus.INSTALLED:
            raise forms.ValidationError(
                _("This device is already installed. Recover it from its household first."),
                code="installed",
            )
        if device.status == DeviceStatus.UNCLAIMED:
            raise forms.ValidationError(
                _("This device has not been claimed into stock yet."), code="unclaimed"
            )
        if device.status not in (DeviceStatus.IN_STOCK, DeviceStatus.RECOVERED):
            raise forms.ValidationError(
                _("This device is %(status)s and cannot be installed.")
                % {"status": _status_label(device)},
                code="closed",
            )
        return device

    def clean_household(self) -> Household | None:
        pk = self.cleaned_data.get("household")
        if pk is None:
            return None
        household = (
            Household.objects.visible_to(self.user).select_related("area").filter(pk=pk).first()
        )
        if household is None:
            raise forms.ValidationError(_("Household not found."), code="not_found")
        return household


class RecoverForm(_ScanForm):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_device(self) -> Device:
        device = super().clean_device()
        if device.status != DeviceStatus.INSTALLED:
            raise forms.ValidationError(
                _("This device is not installed (it is %(status)s): nothing to recover.")
                % {"status": _status_label(device)},
                code="not_installed",
            )
        return device


class NoteForm(Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


def claim_areas(user: Any) -> QuerySet[Area]:
    """Where a device may be put into stock: the user's communities, compounds and above."""
    queryset: QuerySet[Area] = Area.objects.visible_to(user).filter(kind__lte=AreaKind.COMPOUND)
    return queryset


class AreaChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.kind_label}"


class ClaimForm(Form):
    area = AreaChoiceField(queryset=Area.objects.none(), label=_("Stock area"))
    model = forms.CharField(label=_("Model"), required=False, max_length=100)
    label = forms.CharField(label=_("Label on the sticker"), required=False, max_length=64)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = claim_areas(user)
