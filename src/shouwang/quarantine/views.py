"""Quarantine and care-watch screens: the worker's morning, cases, the resident's check-in,
statistics. Thin: parse, call a service, render. Every query goes through `visible_to`, so
anything outside the user's areas is "not found"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shouwang.alerts.models import Outcome
from shouwang.alerts.views import kind_label
from shouwang.core import roles
from shouwang.core.models import Household, Person
from shouwang.core.paging import page_of, query_without_page
from shouwang.core.permissions import get_visible, require
from shouwang.core.services.address_search import address_filter
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.core.services.exports import file_name
from shouwang.devices.services.lifecycle import find_device
from shouwang.quarantine.forms import (
    CareForm,
    CaseFilterForm,
    CaseForm,
    ContactForm,
    EndChangeForm,
    EndForm,
    HealthCheckForm,
    PauseForm,
    SensorForm,
    ServiceForm,
    WorkerCheckForm,
)
from shouwang.quarantine.models import (
    CareEnrolment,
    Case,
    CaseStatus,
    HealthCheck,
    ResidentLink,
    Source,
)
from shouwang.quarantine.perms import (
    EXPORT_CASES,
    MANAGE_CARE,
    MANAGE_CASES,
    VIEW_CARE,
    VIEW_CASES,
)
from shouwang.quarantine.services import care, cases, family, health, reports
from shouwang.quarantine.services.care import CareData, Contact
from shouwang.quarantine.services.cases import CaseData, default_days


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for errors in exc.message_dict.values() for m in errors]
    return list(exc.messages)


def _refuse(request: HttpRequest, exc: ValidationError) -> None:
    for message in _errors(exc):
        messages.error(request, message)


def _address(case: Case) -> str:
    if case.household is None:
        return case.area.name
    return household_address(case.household, ancestor_names([case.area]))


def _device(actor: Any, text: str) -> Any:
    device = find_device(actor, text)
    if device is None:
        raise ValidationError({"device": [_("No sensor with this id or label in your areas.")]})
    return device


# --- the worker's day --------------------------------------------------------------------


def _day_context(report: reports.Morning, extra: list[Case] | None = None) -> dict[str, Any]:
    """The morning report's lists with their addresses (one query for every area's names)."""
    cases = report.ending_today + report.to_recover + [m.case for m in report.missing]
    areas = [c.area for c in cases + (extra or [])]
    names = ancestor_names(list({a.pk: a for a in areas}.values()))

    def where(case: Case) -> str:
        return household_address(case.household, names) if case.household else case.area.name

    return {
        "report": report,
        "ending": [(c, where(c)) for c in report.ending_today],
        "recover": [(c, where(c)) for c in report.to_recover],
        "missing": [(m, where(m.case)) for m in report.missing],
        "alerts": [(a, kind_label(a.kind)) for a in report.open_alerts],
        "where": where,
    }


@require_GET
def today(request: HttpRequest) -> HttpResponse:
    return render(request, "quarantine/today.html", _day_context(reports.morning(request.user)))


def home_section(actor: Any) -> dict[str, Any] | None:
    """The worker's home page: what needs them now (registered with core.home)."""
    if not actor.has_perm(VIEW_CASES):
        return None
    now = reports.worker_now(actor)
    context = _day_context(now.morning, now.to_install)
    where = context.pop("where")
    context.update(
        {
            "open_alerts": now.open_alerts,
            "latest_alerts": [(a, kind_label(a.kind)) for a in now.latest_alerts],
            "install": [(c, where(c)) for c in now.to_install],
            "care_to_install": now.care_to_install,
        }
    )
    return context


@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_CASES)
    form = CaseFilterForm(request.GET)
    form.is_valid()
    queryset = _filtered_cases(request.user, form)
    page = page_of(request, queryset)
    names = ancestor_names(list({c.area.pk: c.area for c in page}.values()))
    rows = [
        (c, household_address(c.household, names) if c.household else c.area.name) for c in page
    ]
    return render(
        request,
        "quarantine/case_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query_string": query_without_page(request),
            "can_export": request.user.has_perm(EXPORT_CASES),
            "can_reveal": request.user.has_perm(roles.REVEAL),
            "can_manage": request.user.has_perm(MANAGE_CASES),
        },
    )


def _filtered_cases(user: Any, form: CaseFilterForm) -> Any:
    queryset = (
        Case.objects.visible_to(user)
        .select_related("area", "household", "device")
        .prefetch_related("members__person")
        .order_by("-started_at", "-pk")
    )
    status = form.cleaned_data.get("status") if hasattr(form, "cleaned_data") else ""
    if status:
        queryset = queryset.filter(status=status)
    return queryset


@require_POST
def case_export(request: HttpRequest) -> HttpResponse:
    require(request.user, EXPORT_CASES)
    form = CaseFilterForm(request.POST)
    form.is_valid()
    unmasked = request.POST.get("unmasked") == "1"
    if unmasked and not request.user.has_perm(roles.REVEAL):
        raise PermissionDenied
    try:
        data = reports.export_cases(
            request.user,
            _filtered_cases(request.user, form),
            unmasked,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        _refuse(request, exc)
        return redirect("quarantine-cases")
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = file_name("quarantine", unmasked)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def choose_household(request: HttpRequest) -> HttpResponse:
    """Step one of a new case: find the household (door number, building or compound)."""
    require(request.user, MANAGE_CASES)
    text = (request.GET.get("q") or "").strip()[:50]
    rows: list[tuple[Household, str]] = []
    if text:
        found = list(
            Household.objects.visible_to(request.user)
            .filter(address_filter(request.user, text))
            .select_related("area")
            .order_by("area__path", "door")[:30]
        )
        names = ancestor_names(list({h.area.pk: h.area for h in found}.values()))
        rows = [(h, household_address(h, names)) for h in found]
    return render(request, "quarantine/choose_household.html", {"q": text, "rows": rows})


@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest, household_pk: int) -> HttpResponse:
    require(request.user, MANAGE_CASES)
    household = get_visible(request.user, Household.objects.select_related("area"), household_pk)
    residents = list(household.residents.order_by("pk"))
    initial = {"starts_on": timezone.localdate(), "days": default_days(household)}
    form = CaseForm(request.POST or None, residents=residents, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device = _device(request.user, data["device"]) if data["device"].strip() else None
            case = cases.start_case(
                request.user,
                household,
                CaseData(
                    people=[p for p in residents if p.pk in set(data["people"])],
                    source=data["source"],
                    reason=data["reason"],
                    starts_on=data["starts_on"],
                    days=data["days"],
                    device=device,
                    no_device_reason=data["no_device_reason"],
                ),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Case started."))
            return redirect("quarantine-case", pk=case.pk)
    address = household_address(household, ancestor_names([household.area]))
    status = 422 if form.errors else 200
    return render(
        request,
        "quarantine/case_new.html",
        {"form": form, "household": household, "address": address},
        status=status,
    )


def _case(request: HttpRequest, pk: int) -> Case:
    require(request.user, VIEW_CASES)
    return get_visible(
        request.user, Case.objects.select_related("area", "household", "device", "watch"), pk
    )


@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    people = list(Person.objects.filter(quarantine_memberships__case=case).order_by("pk"))
    today_local = timezone.localdate()
    checks = list(
        HealthCheck.objects.filter(case=case)
        .select_related("person")
        .order_by("-day", "-slot")[:60]
    )
    links = list(
        ResidentLink.objects.filter(case=case, revoked_at__isnull=True)
        .select_related("person")
        .order_by("pk")
    )
    return render(
        request,
        "quarantine/case_detail.html",
        {
            "case": case,
            "address": _address(case),
            "people": people,
            "checks": checks,
            "links": links,
            "link_expires": health.link_expires_at(case),
            "services": list(case.services.select_related("created_by")[:50]),
            "changes": list(case.end_changes.select_related("changed_by")),
            "alerts": [(a, kind_label(a.kind)) for a in cases.open_alerts_for([case])],
            "today": today_local,
            "can_manage": request.user.has_perm(MANAGE_CASES),
            "check_form": WorkerCheckForm(people=people),
            "end_change_form": EndChangeForm(initial={"new_end": case.planned_end}),
            "end_form": EndForm(initial={"status": CaseStatus.COMPLETED}),
            "service_form": ServiceForm(initial={"at": timezone.localtime().replace(second=0)}),
            "sensor_form": SensorForm(),
            "new_link": request.session.pop("quarantine_new_link", None),
        },
    )


@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One POST endpoint per step on a case page; each calls one service."""
    case = _case(request, pk)
    require(request.user, MANAGE_CASES)
    user: Any = request.user
    try:
        if action == "sensor":
            form: Any = SensorForm(request.POST)
            if form.is_valid():
                cases.install_sensor(user, case, _device(user, form.cleaned_data["device"]))
                messages.success(request, _("Sensor installed."))
        elif action == "end-date":
            form = EndChangeForm(request.POST)
            if form.is_valid():
                cases.change_end(
                    user, case, form.cleaned_data["new_end"], form.cleaned_data["reason"]
                )
                messages.success(request, _("Planned end changed."))
        elif action == "end":
            form = EndForm(request.POST)
            if form.is_valid():
                cases.end_case(user, case, form.cleaned_data["status"], form.cleaned_data["reason"])
                messages.success(request, _("Case ended."))
        elif action == "recover":
            form = None
            cases.record_recovery(user, case, request.POST.get("note", ""))
            messages.success(request, _("Sensor taken back to stock."))
        elif action == "check":
            people = list(Person.objects.filter(quarantine_memberships__case=case))
            form = WorkerCheckForm(request.POST, people=people)
            if form.is_valid():
                person = next(p for p in people if p.pk == form.cleaned_data["person"])
                health.enter_check(
                    user,
                    case,
                    person,
                    form.cleaned_data["temperature"],
                    form.cleaned_data["symptoms"],
                )
                messages.success(request, _("Health check recorded."))
        elif action == "service":
            form = ServiceForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                cases.log_service(
                    user,
                    case,
                    data["kind"],
                    data["at"],
                    data["note"],
                    data["minutes"],
                    data["scheduled"],
                )
                messages.success(request, _("Service recorded."))
        elif action == "link":
            form = None
            person = get_visible(
                user,
                Person.objects.filter(quarantine_memberships__case=case),
                request.POST.get("person"),
            )
            _link, token = health.issue_link(user, case, person)
            # Shown once on the next page; only its hash is kept.
            request.session["quarantine_new_link"] = {
                "person": person.masked_name,
                "url": request.build_absolute_uri(reverse("resident-check-in", args=[token])),
            }
        elif action == "revoke":
            form = None
            link_id = request.POST.get("link", "")
            link = (
                ResidentLink.objects.filter(case=case, pk=int(link_id)).first()
                if link_id.isdigit()
                else None
            )
            if link is None:
                raise Http404
            health.revoke_link(user, link)
            messages.success(request, _("Link revoked."))
        else:
            raise Http404
    except ValidationError as exc:
        _refuse(request, exc)
    else:
        if form is not None and not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    return redirect("quarantine-case", pk=case.pk)


@require_GET
def notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable 居家隔离告知书 for the household."""
    case = _case(request, pk)
    people = list(Person.objects.filter(quarantine_memberships__case=case).order_by("pk"))
    return render(
        request,
        "quarantine/notice.html",
        {
            "case": case,
            "address": _address(case),
            "people": people,
            "source": Source(case.source).label,
        },
    )


@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    rows = reports.community_stats(request.user)
    outcome_labels: dict[str, str] = {k: str(v) for k, v in Outcome.choices}
    outcome_labels["unresolved"] = _("Not resolved yet")
    return render(
        request,
        "quarantine/stats.html",
        {
            "rows": [
                (
                    row,
                    [(outcome_labels.get(k, k), n) for k, n in sorted(row.outcomes.items())],
                    list(row.started.items()),
                    list(row.ended.values()),
                )
                for row in rows
            ],
        },
    )


# --- the resident's own check-in ---------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def resident_check_in(request: HttpRequest, token: str) -> HttpResponse:
    """No account: the token is the credential. A forged token is "not found"; a revoked or
    expired one says so, without saying whose it was."""
    try:
        link = health.resolve_link(token)
    except health.LinkInvalid as exc:
        raise Http404 from exc
    except health.LinkExpired:
        return render(request, "quarantine/resident_expired.html", status=410)
    form = HealthCheckForm(request.POST or None)
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            health.submit_by_link(
                token, form.cleaned_data["temperature"], form.cleaned_data["symptoms"]
            )
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
        except health.LinkExpired:
            return render(request, "quarantine/resident_expired.html", status=410)
        else:
            done = True
            form = HealthCheckForm()
    # The token never leaves in a Referer: the site-wide policy is "same-origin" and the page
    # links nowhere else. ("no-referrer" would make browsers post with Origin: null, which
    # the CSRF check rightly refuses.)
    return render(
        request,
        "quarantine/resident.html",
        {
            "form": form,
            "name": link.person.masked_name,
            "case": link.case,
            "checks": health.checks_today(link),
            "done": done,
        },
        status=422 if form.errors else 200,
    )


# --- care watch ----------------------------------------------------------------------------


@require_GET
def care_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_CARE)
    queryset = (
        CareEnrolment.objects.visible_to(request.user)
        .filter(ended_at__isnull=True)
        .select_related("person", "household__area", "device")
        .prefetch_related("contacts")
        .order_by("household__area__path", "household__door", "pk")
    )
    page = page_of(request, queryset)
    names = ancestor_names(list({e.household.area.pk: e.household.area for e in page}.values()))
    text = (request.GET.get("q") or "").strip()[:50]
    candidates: list[tuple[Person, str]] = []
    if text and request.user.has_perm(MANAGE_CARE):
        found = list(
            Person.objects.visible_to(request.user)
            .filter(address_filter(request.user, text, prefix="household__"))
            .select_related("household__area")
            .prefetch_related("tags")
            .order_by("household__area__path", "household__door")[:30]
        )
        more = ancestor_names(list({p.household.area.pk: p.household.area for p in found}.values()))
        candidates = [(p, household_address(p.household, more)) for p in found]
    return render(
        request,
        "quarantine/care_list.html",
        {
            "page": page,
            "rows": [(e, household_address(e.household, names)) for e in page],
            "q": text,
            "candidates": candidates,
            "can_manage": request.user.has_perm(MANAGE_CARE),
        },
    )


@require_http_methods(["GET", "POST"])
def care_new(request: HttpRequest, person_pk: int) -> HttpResponse:
    require(request.user, MANAGE_CARE)
    person = get_visible(request.user, Person.objects.select_related("household__area"), person_pk)
    form = CareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contacts = []
        if data["contact_name"] or data["contact_phone"]:
            contacts.append(
                Contact(data["contact_name"], data["contact_phone"], data["contact_relation"])
            )
        try:
            device = _device(request.user, data["device"]) if data["device"].strip() else None
            enrolment = care.enrol(
                request.user,
                person,
                CareData(
                    active_from=data["active_from"],
                    active_until=data["active_until"],
                    inactive_hours=data["inactive_hours"],
                    device=device,
                    contacts=contacts,
                ),
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Care watch started."))
            return redirect("care-detail", pk=enrolment.pk)
    address = household_address(person.household, ancestor_names([person.household.area]))
    return render(
        request,
        "quarantine/care_new.html",
        {"form": form, "person": person, "address": address},
        status=422 if form.errors else 200,
    )


def _enrolment(request: HttpRequest, pk: int) -> CareEnrolment:
    require(request.user, VIEW_CARE)
    return get_visible(
        request.user,
        CareEnrolment.objects.select_related("person", "household__area", "device", "watch"),
        pk,
    )


def _family_notices(enrolment: CareEnrolment) -> list[dict[str, Any]]:
    contacts = {c.pk: c for c in enrolment.contacts.all()}
    return [
        {
            "created_at": d.created_at,
            "contact": contacts.get(d.recipient_ref),
            "status": d.get_status_display(),
            "last_error": d.last_error,
        }
        for d in family.notices(list(contacts))
    ]


@require_GET
def care_detail(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _enrolment(request, pk)
    address = household_address(enrolment.household, ancestor_names([enrolment.household.area]))
    return render(
        request,
        "quarantine/care_detail.html",
        {
            "e": enrolment,
            "address": address,
            "contacts": list(enrolment.contacts.all()),
            # What the family was told, and what could not be sent (for a person to act on).
            "notices": _family_notices(enrolment),
            "pause_form": PauseForm(),
            "contact_form": ContactForm(),
            "can_manage": request.user.has_perm(MANAGE_CARE),
        },
    )


@require_POST
def care_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    enrolment = _enrolment(request, pk)
    require(request.user, MANAGE_CARE)
    user: Any = request.user
    try:
        if action in ("pause", "resume"):
            care.set_paused(user, enrolment, action == "pause", request.POST.get("reason", ""))
        elif action == "end":
            care.end_enrolment(user, enrolment, request.POST.get("reason", ""))
        elif action == "contact":
            form = ContactForm(request.POST)
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            data = form.cleaned_data
            care.add_contact(
                user,
                enrolment,
                Contact(data["name"], data["phone"], data["relation"], data["notify"]),
            )
        else:
            raise Http404
    except ValidationError as exc:
        _refuse(request, exc)
    else:
        messages.success(request, _("Saved."))
    return redirect("care-detail", pk=enrolment.pk)
