"""Forms of the reporting screens; the checks that matter are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core.forms import Form
from shouwang.core.models import Area
from shouwang.reporting.models import OrgKind
from shouwang.reporting.services.declarations import SYMPTOMS


class OrganisationForm(Form):
    kind = forms.ChoiceField(label=_("kind"), choices=OrgKind.choices)
    name = forms.CharField(label=pgettext_lazy("organisation", "name"), max_length=100)
    area = forms.ModelChoiceField(label=_("area"), queryset=Area.objects.none())
    credit_code = forms.CharField(
        label=_("unified social credit code"), max_length=40, required=False
    )
    education_code = forms.CharField(
        label=_("school identification code"), max_length=20, required=False
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        if isinstance(area_field, forms.ModelChoiceField):
            area_field.queryset = Area.objects.visible_to(user).order_by("path")


class ContactForm(Form):
    username = forms.CharField(label=_("username"), max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=100, required=False)
    password = forms.CharField(label=_("password"), min_length=10, widget=forms.PasswordInput)


class MemberImportForm(Form):
    file = forms.FileField(label=_("Excel or CSV file"))


class RevealForm(Form):
    field = forms.ChoiceField(choices=[("id_number", _("ID number")), ("phone", _("phone number"))])
    reason = forms.CharField(required=False, max_length=200)


class MemberDeclarationForm(Form):
    """What a member fills in on their phone."""

    temperature = forms.CharField(label=_("Temperature (°C)"), max_length=10)
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"),
        choices=list(SYMPTOMS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    travel = forms.CharField(
        label=_("Places visited outside the city in the last 14 days"),
        max_length=200,
        required=False,
    )
    contact_case = forms.BooleanField(label=_("Contact with a confirmed case"), required=False)


class ApplicationForm(Form):
    plan = forms.CharField(
        label=_("Prevention plan"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000
    )
    headcount_total = forms.IntegerField(label=_("Employees in total"), min_value=1)
    headcount_returning = forms.IntegerField(label=_("Employees returning"), min_value=0)


class DecisionForm(Form):
    cap = forms.IntegerField(label=_("Headcount cap (optional)"), min_value=1, required=False)
    conditions = forms.CharField(label=_("Conditions"), max_length=300, required=False)
    reason = forms.CharField(label=_("What must change"), max_length=500, required=False)
