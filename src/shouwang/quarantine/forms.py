"""Forms of the quarantine and care-watch screens: they parse; the services decide."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shouwang.alerts.forms import DATETIME_LOCAL, DateTimeLocalInput
from shouwang.core.forms import DayField, Form, MomentField
from shouwang.core.models import Person
from shouwang.quarantine.models import CaseStatus, ServiceKind, Source
from shouwang.quarantine.services.cases import ENDINGS
from shouwang.quarantine.services.health import SYMPTOMS


class DateInput(forms.DateInput):
    # A date input only takes ISO dates, whatever the language's date format.
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class CaseForm(Form):
    people = forms.TypedMultipleChoiceField(
        label=_("Who is under quarantine"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    source = forms.ChoiceField(label=_("Source"), choices=[("", "—"), *Source.choices])
    reason = forms.CharField(label=_("Details"), required=False, max_length=200)
    starts_on = DayField(label=_("Start date"), widget=DateInput)
    days = forms.IntegerField(label=_("Duration (days)"), min_value=1, max_value=60)
    device = forms.CharField(
        label=_("Sensor (id or sticker label)"), required=False, max_length=200
    )
    no_device_reason = forms.CharField(
        label=_("No sensor installed because"), required=False, max_length=200
    )

    def __init__(self, *args: Any, residents: Iterable[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["people"]
        field.choices = [(p.pk, p.masked_name) for p in residents]


class SensorForm(Form):
    device = forms.CharField(label=_("Sensor (id or sticker label)"), max_length=200)


class EndChangeForm(Form):
    new_end = DayField(label=_("New last day"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class EndForm(Form):
    status = forms.ChoiceField(
        label=_("How the case ends"),
        choices=[(v, label) for v, label in CaseStatus.choices if v in ENDINGS],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"data-testid": "end-reason"}),
    )


class HealthCheckForm(Form):
    temperature = forms.CharField(
        label=_("Temperature (°C)"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"),
        required=False,
        choices=list(SYMPTOMS.items()),
        widget=forms.CheckboxSelectMultiple,
    )


class WorkerCheckForm(HealthCheckForm):
    person = forms.TypedChoiceField(label=_("Person"), coerce=int)

    def __init__(self, *args: Any, people: Iterable[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["person"]
        field.choices = [(p.pk, p.masked_name) for p in people]


class ServiceForm(Form):
    kind = forms.ChoiceField(label=_("Service"), choices=ServiceKind.choices)
    at = MomentField(label=_("When"), widget=DateTimeLocalInput, input_formats=[DATETIME_LOCAL])
    minutes = forms.IntegerField(
        label=_("Door may open for (minutes)"), min_value=1, max_value=720, initial=15
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    scheduled = forms.BooleanField(
        label=_("Scheduled: the door opening it causes raises no alert"), required=False
    )


class CareForm(Form):
    active_from = forms.TimeField(label=_("Active from"), widget=TimeInput, initial=time(7, 0))
    active_until = forms.TimeField(label=_("Active until"), widget=TimeInput, initial=time(21, 0))
    inactive_hours = forms.DecimalField(
        label=_("Alert after no door opening for (hours)"),
        min_value=Decimal("1"),
        max_value=Decimal("72"),
        decimal_places=1,
        initial=Decimal("12"),
    )
    device = forms.CharField(
        label=_("Sensor (id or sticker label)"), required=False, max_length=200
    )
    contact_name = forms.CharField(label=_("Family contact"), required=False, max_length=50)
    contact_relation = forms.CharField(label=_("Relation"), required=False, max_length=30)
    contact_phone = forms.CharField(label=_("Contact's phone"), required=False, max_length=30)


class ContactForm(Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    relation = forms.CharField(label=_("Relation"), required=False, max_length=30)
    phone = forms.CharField(label=_("Phone"), max_length=30)
    notify = forms.BooleanField(label=_("Notify on alerts"), required=False, initial=True)


class PauseForm(Form):
    reason = forms.CharField(
        label=_("Why (hospital stay, travel…)"), required=False, max_length=200
    )


class CaseFilterForm(Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *CaseStatus.choices]
    )
