from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shouwang.core.forms import Form
from shouwang.masks.models import RoundPoint


class ReserveForm(Form):
    """The resident's form: who, and where to pick up. Values are checked by the service."""

    name = forms.CharField(label=_("Name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=30)
    phone = forms.CharField(label=_("Mobile phone"), max_length=30)
    stock = forms.TypedChoiceField(label=_("Pickup point"), coerce=int)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, points: list[RoundPoint], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["stock"]
        if isinstance(field, forms.TypedChoiceField):
            field.choices = [(p.pk, f"{p.point.name}（{_('left')} {p.remaining}）") for p in points]
        self.fields["id_number"].widget.attrs.update(autocomplete="off", inputmode="text")
        self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="tel")
        self.fields["name"].widget.attrs.update(autocomplete="name")
