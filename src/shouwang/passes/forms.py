"""Forms of the pass and gate screens: they parse; the services decide."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.core.forms import DayField, Form
from shouwang.core.models import Area, AreaKind, Household
from shouwang.core.services.areas import address_of, ancestor_names, household_address
from shouwang.passes.models import Direction, PassKind, PassStatus, VisitApproval
from shouwang.passes.services import printing


def compounds_for(user: Any) -> Any:
    return Area.objects.visible_to(user).filter(kind=AreaKind.COMPOUND)


def end_of_day(day: Any) -> datetime | None:
    """A date the worker picks means "through that day", local time."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max.replace(microsecond=0)))


class IssueForm(Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (PassKind.RESIDENT, PassKind.RESIDENT.label),
            (PassKind.TENANT, PassKind.TENANT.label),
        ],
    )
    compounds = forms.ModelMultipleChoiceField(queryset=Area.objects.none(), label=_("Compounds"))
    valid_until = DayField(
        label=_("Valid through"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Required for tenants: the end of the lease."),
    )
    dynamic = forms.BooleanField(
        label=_("Dynamic code (changes every 30 s; checked online only)"), required=False
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compounds"].queryset = compounds_for(user)  # type: ignore[attr-defined]


class BulkForm(Form):
    compound = forms.ModelChoiceField(queryset=Area.objects.none(), label=_("Compound"))
    valid_until = DayField(
        label=_("Valid through"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds_for(user)  # type: ignore[attr-defined]


class StatusForm(Form):
    action = forms.ChoiceField(
        choices=[("suspend", "suspend"), ("reinstate", "reinstate"), ("revoke", "revoke")]
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)


class PassFilter(Form):
    q = forms.CharField(label=_("Name"), required=False)
    compound = forms.ModelChoiceField(
        queryset=Area.objects.none(), required=False, label=_("Compound")
    )
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *PassStatus.choices], required=False, label=_("Status")
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds_for(user)  # type: ignore[attr-defined]
        self.fields["compound"].empty_label = _("All compounds")  # type: ignore[attr-defined]


class LogFilter(Form):
    q = forms.CharField(label=_("Person"), required=False)
    compound = forms.ModelChoiceField(
        queryset=Area.objects.none(), required=False, label=_("Compound")
    )
    day = DayField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    denied = forms.BooleanField(label=_("Denied only"), required=False)

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds_for(user)  # type: ignore[attr-defined]
        self.fields["compound"].empty_label = _("All compounds")  # type: ignore[attr-defined]


class VisitorForm(Form):
    name = forms.CharField(label=_("Visitor's name"), max_length=100)
    phone = forms.CharField(label=_("Phone number"), max_length=30)
    household = forms.ModelChoiceField(queryset=Household.objects.none(), label=_("Visiting"))
    reason = forms.CharField(label=_("Reason for the visit"), max_length=200)
    pass_hours = forms.TypedChoiceField(
        label=_("Temporary pass"),
        coerce=int,
        choices=[
            (0, _("No pass")),
            (2, _("2 hours")),
            (4, _("4 hours")),
            (8, _("8 hours")),
            (24, _("24 hours")),
        ],
        initial=4,
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        households = Household.objects.visible_to(user).select_related("area")
        field = self.fields["household"]
        field.queryset = households.order_by("area__path", "door")  # type: ignore[attr-defined]
        names: dict[str, tuple[str, int]] = {}

        def label(household: Household) -> str:
            # One query for every ancestor's name, on the first label drawn.
            if not names:
                names.update(ancestor_names([h.area for h in households]))
            return household_address(household, names)

        field.label_from_instance = label  # type: ignore[attr-defined]


class ApproveVisitForm(Form):
    reason = forms.ChoiceField(label=_("Why may the visitor go in?"), choices=VisitApproval.choices)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


DIRECTIONS = Direction.choices


class PrintForm(Form):
    area = forms.ModelChoiceField(
        queryset=Area.objects.none(), label=_("Building or compound"), required=True
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = printing.print_areas(user)
        # "东风花园 3号楼", not a bare "3号楼" that every compound has.
        names = ancestor_names(list(areas))
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]
        self.fields["area"].label_from_instance = lambda a: address_of(a, names)  # type: ignore[attr-defined]
