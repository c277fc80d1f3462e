from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import edge
from shouwang.core.bounds import FIRST_DAY, FIRST_MOMENT, LAST_DAY, LAST_MOMENT
from shouwang.core.models import Area, AreaKind, Tag


class Form(forms.Form):
    """The base of every form of the screens (tests/core/test_edge.py walks them all).

    A field whose value the edge refused (NUL or an unpaired surrogate: `core.edge.RefusedData`)
    is shown again as typed, the character replaced, with the error on the field; the form is
    invalid, so nothing is done with it."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        self._refused: dict[str, str] = {}
        if isinstance(data, edge.RefusedData):
            self._refused = data.refused
            data = data.sanitised()
        super().__init__(data, *args, **kwargs)

    @property
    def refused(self) -> list[str]:
        """The fields whose value the edge refused (their errors say why)."""
        return [name for name in self._refused if name in self.fields]

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for name, message in self._refused.items():
            if name in self.fields:
                self.add_error(name, message)


class DayField(forms.DateField):
    """A date within Shouwang's range (core.bounds): 0001-01-01 or 9999-12-31 is a form error,
    not an overflow further down."""

    default_validators = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "min": FIRST_DAY, "max": LAST_DAY}


class MomentField(forms.DateTimeField):
    """A date and time within Shouwang's range (core.bounds)."""

    default_validators = [MinValueValidator(FIRST_MOMENT), MaxValueValidator(LAST_MOMENT)]


class RosterImportForm(Form):
    area = forms.ModelChoiceField(
        queryset=Area.objects.none(),
        label=_("Compound or village"),
        help_text=_("Buildings, units and households are created inside it as needed."),
    )
    file = forms.FileField(label=_("Roster file (.xlsx or .csv)"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        if not isinstance(field, forms.ModelChoiceField):  # pragma: no cover
            raise TypeError("area must be a ModelChoiceField")
        field.queryset = Area.objects.visible_to(user).filter(
            kind__in=[AreaKind.COMPOUND, AreaKind.COMMUNITY]
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB.") % {"mb": settings.MAX_UPLOAD_MB}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv", ".xls")):
            raise forms.ValidationError(_("Upload a .xlsx or .csv file."))
        return upload


class PeopleFilterForm(Form):
    q = forms.CharField(label=_("Name, full ID or phone number"), required=False, max_length=40)
    # A remembered search (core.searches): the URL carries this token, not q.
    s = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False, label=_("Tag"))
    area = forms.IntegerField(required=False, widget=forms.HiddenInput)


class HouseholdFilterForm(Form):
    q = forms.CharField(label=_("Door number"), required=False, max_length=60)
    area = forms.IntegerField(required=False, widget=forms.HiddenInput)


class RevealForm(Form):
    field = forms.ChoiceField(choices=[("id_number", _("ID number")), ("phone", _("phone number"))])
    reason = forms.CharField(required=False, max_length=200)


class PersonForm(Form):
    """Add or change a resident by hand. A blank ID or phone field on edit keeps the old value,
    so the form never has to show a full number to be submitted."""

    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=100)
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=30)
    phone = forms.CharField(label=_("phone number"), required=False, max_length=30)
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.filter(system=False),
        required=False,
        label=_("Tags"),
        widget=forms.CheckboxSelectMultiple,
    )
