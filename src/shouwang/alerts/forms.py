"""Forms of the alert screens, and the list filters shared by the board and the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.alerts import perms as alert_perms
from shouwang.alerts import rules
from shouwang.alerts.models import Alert, AlertStatus, Outcome, Severity
from shouwang.alerts.services.suppression import NOTE_LENGTH, REASONS
from shouwang.alerts.stats import day_bounds
from shouwang.core import roles
from shouwang.core.forms import DayField, Form, MomentField
from shouwang.core.models import Area, AreaKind, User

ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
# The statuses as the screens name them ("Open" alone is also a door's state).
STATUS_LABELS: dict[str, Any] = {
    AlertStatus.OPEN: pgettext_lazy("alert status", "Open"),
    AlertStatus.ACKNOWLEDGED: pgettext_lazy("alert status", "Acknowledged"),
    AlertStatus.RESOLVED: pgettext_lazy("alert status", "Resolved"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# "Cleared by itself" is the system's outcome, never a person's.
PERSON_OUTCOMES = [(v, label) for v, label in Outcome.choices if v != Outcome.CLEARED]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def alert_kinds() -> list[tuple[str, Any]]:
    return [(k, r.label) for k, r in rules.KINDS.items() if not r.settings_only]


def filter_alerts(
    queryset: QuerySet[Alert],
    *,
    status: str | None = None,
    kind: str | None = None,
    severity: int | None = None,
    area: Area | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Alert]:
    """`status`: open, acknowledged, resolved, or "active" (open or acknowledged); anything
    else means any status. Dates are local days, both included, on the opening time."""
    if status == "active":
        queryset = queryset.filter(status__in=ACTIVE)
    elif status in AlertStatus.values:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if severity:
        queryset = queryset.filter(severity=severity)
    if area is not None:
        queryset = queryset.filter(area__path__startswith=area.path)
    if date_from is not None:
        queryset = queryset.filter(opened_at__gte=day_bounds(date_from)[0])
    if date_to is not None:
        queryset = queryset.filter(opened_at__lt=day_bounds(date_to)[1])
    return queryset


def communities_of(user: Any) -> QuerySet[Area]:
    communities: QuerySet[Area] = Area.objects.visible_to(user).filter(kind=AreaKind.COMMUNITY)
    return communities


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _set_choices(form: forms.Form, name: str, choices: Iterable[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    if isinstance(field, forms.ChoiceField):
        field.choices = list(choices)


class BoardFilterForm(Form):
    STATUS_CHOICES = [
        ("", _("Open or acknowledged")),
        *STATUS_LABELS.items(),
        ("all", _("Any status")),
    ]
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    severity = forms.TypedChoiceField(
        label=_("Severity"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any severity")), *Severity.choices],
    )
    community = forms.TypedChoiceField(
        label=_("Community"), required=False, coerce=int, empty_value=None
    )
    date_from = DayField(label=_("From"), required=False, widget=DateInput)
    date_to = DayField(label=_("Until"), required=False, widget=DateInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "kind", [("", _("Any kind")), *alert_kinds()])
        _set_choices(
            self,
            "community",
            [("", _("All communities")), *((a.pk, a.name) for a in communities_of(user))],
        )

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid one is left out rather than failing the page."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "status": data.get("status") or "active",
            "kind": data.get("kind") or None,
            "severity": data.get("severity"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class PeriodForm(Form):
    date_from = DayField(label=_("From"), required=False, widget=DateInput)
    date_to = DayField(label=_("Until"), required=False, widget=DateInput)
    community = forms.TypedChoiceField(
        label=_("Community"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "community",
            [("", _("All communities")), *((a.pk, a.name) for a in communities_of(user))],
        )

    def period(self) -> tuple[date, date]:
        """The chosen local days, both included; by default the last seven days."""
        self.is_valid()
        today = timezone.localdate()
        until = self.cleaned_data.get("date_to") or today
        since = self.cleaned_data.get("date_from") or until - timedelta(days=6)
        if since > until:
            since, until = until, since
        return since, until


class ActionForm(Form):
    """A form posted to act on one alert (`views._action`). Its fields are named as the
    parameters of the `alerting` service it feeds, and `invalid` is what the worker is told
    when it does not validate."""

    invalid: Any = ""

    @classmethod
    def bind(cls, data: Any, alert: Alert) -> ActionForm:
        return cls(data)


class ResolveForm(ActionForm):
    invalid = _("Choose what happened.")
    outcome = forms.ChoiceField(label=_("What happened"), choices=[("", "—"), *PERSON_OUTCOMES])
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CommentForm(ActionForm):
    invalid = _("A comment cannot be empty.")
    text = forms.CharField(
        label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def colleagues(alert: Alert) -> QuerySet[User]:
    """Staff who handle alerts and whose areas cover the alert's."""
    handling = roles.roles_with(alert_perms.HANDLE_ALERTS)
    queryset = User.objects.filter(is_active=True, role__in=handling)
    if alert.area is not None:
        queryset = queryset.filter(areas__path__in=[*alert.area.ancestor_paths(), alert.area.path])
    return queryset.distinct().order_by("username")


class AssignForm(ActionForm):
    """A colleague to hand the alert to, among `candidates`; cleaned, the colleague."""

    invalid = _("Choose a colleague who covers this area.")
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int)

    def __init__(self, *args: Any, candidates: Iterable[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {u.pk: u for u in candidates}
        _set_choices(self, "assignee", [(pk, str(u)) for pk, u in self.candidates.items()])

    @classmethod
    def bind(cls, data: Any, alert: Alert) -> ActionForm:
        return cls(data, candidates=colleagues(alert))

    def clean_assignee(self) -> User:
        return self.candidates[self.cleaned_data["assignee"]]


class SuppressionForm(Form):
    reason = forms.ChoiceField(
        label=_("Why the door will open"),
        choices=list(REASONS.items()),
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Details"), required=False, max_length=NOTE_LENGTH)
    starts_at = MomentField(
        label=_("From"), widget=DateTimeLocalInput, input_formats=[DATETIME_LOCAL]
    )
    ends_at = MomentField(
        label=_("Until"), widget=DateTimeLocalInput, input_formats=[DATETIME_LOCAL]
    )


class DispatchForm(ActionForm):
    """The property office (or a worker) sends someone up to the door."""

    invalid = _("Say who goes to the door.")

    sent = forms.CharField(
        label=_("Who goes to the door"),
        max_length=100,
        widget=forms.TextInput(attrs={"data-testid": "dispatch-sent", "autocomplete": "off"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "dispatch-note"}),
    )


class ArrivalForm(ActionForm):
    """Someone stood at the door: what they found."""

    invalid = _("Choose what was found at the door.")

    outcome = forms.ChoiceField(
        label=_("Found at the door"),
        choices=[(o.value, o.label) for o in Outcome if o != Outcome.CLEARED],
        widget=forms.Select(attrs={"data-testid": "arrival-outcome"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "arrival-note"}),
    )
