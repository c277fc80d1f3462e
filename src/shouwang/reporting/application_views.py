"""Screens of the return-to-work applications: the organisation's applications and history,
one application (the reviewer's decision, the applicant's resubmission), its materials, and
the reviewer's queue. Thin: parse, call `services.applications`, render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from shouwang.core import audit
from shouwang.core.permissions import get_visible, require
from shouwang.reporting import forms
from shouwang.reporting.models import Application, AppState, Material, Organisation
from shouwang.reporting.perms import APPLY, REVIEW, VIEW_APPLICATIONS
from shouwang.reporting.services import applications
from shouwang.reporting.services.applications import Upload


def _uploads(request: HttpRequest) -> list[Upload]:
    files = request.FILES.getlist("materials")[: applications.MAX_FILES + 1]
    found = []
    for f in files:
        # Read one byte past the limit: enough to refuse, never the whole of a huge file.
        found.append(Upload(f.name or "", f.read(applications.MAX_BYTES + 1)))
    return found


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f}"


def _errors_into(form: Any, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
def organisation_applications(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_APPLICATIONS)
    org = get_visible(request.user, Organisation, pk)
    form = forms.ApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require(request.user, APPLY)
        if form.is_valid():
            data = form.cleaned_data
            try:
                application = applications.submit(
                    request.user,
                    org,
                    data["plan"],
                    data["headcount_total"],
                    data["headcount_returning"],
                    _uploads(request),
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Application submitted."))
                return redirect("reporting-application", application.pk)
    rows = list(
        Application.objects.visible_to(request.user)
        .filter(organisation=org)
        .order_by("-submitted_at")
    )
    can_apply = request.user.has_perm(APPLY) and not any(a.state in applications.OPEN for a in rows)
    return render(
        request,
        "reporting/applications.html",
        {"org": org, "rows": rows, "form": form if can_apply else None},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_APPLICATIONS)
    application = get_visible(
        request.user, Application.objects.select_related("organisation__area", "reviewer"), pk
    )
    decision = forms.DecisionForm(request.POST or None)
    resubmit = forms.ApplicationForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "plan": application.plan,
            "headcount_total": application.headcount_total,
            "headcount_returning": application.headcount_returning,
        },
    )
    action = request.POST.get("action", "")
    error = ""
    if request.method == "POST":
        try:
            if action == "resubmit":
                require(request.user, APPLY)
                if resubmit.is_valid():
                    data = resubmit.cleaned_data
                    applications.resubmit(
                        request.user,
                        application,
                        data["plan"],
                        data["headcount_total"],
                        data["headcount_returning"],
                        _uploads(request),
                    )
                    return redirect("reporting-application", application.pk)
            else:
                require(request.user, REVIEW)
                if decision.is_valid():
                    data = decision.cleaned_data
                    if action == "review":
                        applications.start_review(request.user, application)
                    elif action == "approve":
                        applications.approve(
                            request.user, application, data["cap"], data["conditions"]
                        )
                    elif action == "return":
                        applications.send_back(request.user, application, data["reason"])
                    else:
                        raise ValidationError(_("Unknown action."))
                    return redirect("reporting-application", application.pk)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    is_reviewer = request.user.has_perm(REVIEW)
    returnees = (
        list(
            application.organisation.members.filter(active=True)
            .exclude(returned_from="")
            .order_by("-returned_on")[:200]
        )
        if is_reviewer or request.user.has_perm(APPLY)
        else []
    )
    return render(
        request,
        "reporting/application_detail.html",
        {
            "app": application,
            "org": application.organisation,
            "events": list(application.events.select_related("by")),
            "materials": list(application.materials.only("id", "name", "content_type", "size")),
            "returnees": returnees,
            "decision": decision if is_reviewer else None,
            "resubmit": resubmit
            if request.user.has_perm(APPLY) and application.state == AppState.RETURNED
            else None,
            "error": error,
            "waiting": _hours(timezone.now() - application.submitted_at),
        },
        status=422
        if error or (request.method == "POST" and (decision.errors or resubmit.errors))
        else 200,
    )


@require_GET
def material(request: HttpRequest, pk: int, material_pk: int) -> HttpResponse:
    require(request.user, VIEW_APPLICATIONS)
    application = get_visible(
        request.user, Application.objects.select_related("organisation__area"), pk
    )
    item = Material.objects.filter(application=application, pk=material_pk).first()
    if item is None:
        from django.http import Http404

        raise Http404
    audit.record(
        "reporting.material_open",
        actor=request.user,
        target=application,
        area=application.organisation.area,
        details={"material": item.pk},
    )
    answer = HttpResponse(bytes(item.content), content_type=item.content_type)
    answer["Content-Disposition"] = f'inline; filename="material-{item.pk}"'
    answer["Cache-Control"] = "no-store"
    answer["X-Content-Type-Options"] = "nosniff"
    return answer


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    require(request.user, REVIEW)
    now = timezone.now()
    rows = [(a, _hours(now - a.submitted_at)) for a in applications.queue(request.user)]
    return render(
        request,
        "reporting/review_queue.html",
        {
            "rows": rows,
            "median_hours": applications.decision_hours(request.user),
            "decided": list(
                Application.objects.visible_to(request.user)
                .filter(state__in=[AppState.APPROVED, AppState.RETURNED])
                .select_related("organisation")
                .order_by("-decided_at")[:20]
            ),
        },
    )
