"""Screens: organisations and their members, the contact's declaration grid, the member's
phone link, and the district's reporting rates. Thin: parse, call a service, render."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from shouwang.core import identity
from shouwang.core.paging import page_of, query_without_page
from shouwang.core.permissions import get_visible, require
from shouwang.core.scoping import Actor
from shouwang.core.services.people import id_index
from shouwang.reporting import forms
from shouwang.reporting.models import (
    Absence,
    Member,
    Organisation,
    Slot,
    contact_organisations,
)
from shouwang.reporting.perms import (
    DECLARE,
    MANAGE_MEMBERS,
    MANAGE_ORGS,
    REVEAL_MEMBERS,
    VIEW_APPLICATIONS,
    VIEW_MEMBERS,
    VIEW_ORGS,
    VIEW_RATES,
)
from shouwang.reporting.services import (
    applications,
    declarations,
    members,
    organisations,
    rates,
)
from shouwang.reporting.services.declarations import SYMPTOMS, Entry


def home_section(actor: Actor) -> dict[str, Any] | None:
    """A contact's organisation(s) and today's count; the district's rate today."""
    if actor is None or not actor.has_perm(VIEW_ORGS):
        return None
    ids = contact_organisations(actor)
    if ids is not None:
        orgs = list(Organisation.objects.visible_to(actor).order_by("name"))
        return {"contact_orgs": rates.today(orgs)}
    if not actor.has_perm(VIEW_RATES):
        return None
    summary = rates.summary(Organisation.objects.visible_to(actor), timezone.localdate())
    return {"summary": summary} if summary.organisations else None


# --- organisations -------------------------------------------------------------------------


@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    require(request.user, VIEW_ORGS)
    day = _day(request)
    queryset = Organisation.objects.visible_to(request.user).select_related("area")
    rows = rates.for_day(list(queryset), day)
    late_only = request.GET.get("late") == "1"
    if late_only:
        rows = [r for r in rows if r.missing]
    return render(
        request,
        "reporting/organisation_list.html",
        {
            "rows": rows,
            "day": day,
            "summary": rates.total(rows),
            "late_only": late_only,
            "can_create": request.user.has_perm(MANAGE_ORGS),
            "can_rates": request.user.has_perm(VIEW_RATES),
        },
    )


@require_GET
def rates_json(request: HttpRequest) -> JsonResponse:
    """The live figures the list page refreshes itself with (no names)."""
    require(request.user, VIEW_RATES)
    day = _day(request)
    rows = rates.for_day(list(Organisation.objects.visible_to(request.user)), day)
    total = rates.total(rows)
    answer = JsonResponse(
        {
            "day": day.isoformat(),
            "members": total.members,
            "reported": total.reported,
            "rate": total.rate_text,
            "organisations": [
                {"id": r.org.pk, "reported": r.reported, "members": r.members, "rate": r.rate_text}
                for r in rows
            ],
        }
    )
    answer["Cache-Control"] = "no-store"
    return answer


@require_http_methods(["GET", "POST"])
def organisation_new(request: HttpRequest) -> HttpResponse:
    require(request.user, MANAGE_ORGS)
    form = forms.OrganisationForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            org = organisations.create_organisation(
                request.user,
                data["kind"],
                data["name"],
                data["area"],
                data["credit_code"],
                data["education_code"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Organisation registered."))
            return redirect("reporting-organisation", org.pk)
    return render(
        request,
        "reporting/organisation_new.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_ORGS)
    org = get_visible(request.user, Organisation.objects.select_related("area"), pk)
    contact_form = forms.ContactForm(request.POST or None)
    if request.method == "POST":
        require(request.user, MANAGE_ORGS)
        if contact_form.is_valid():
            data = contact_form.cleaned_data
            try:
                organisations.add_contact(
                    request.user, org, data["username"], data["password"], data["display_name"]
                )
            except ValidationError as exc:
                _errors_into(contact_form, exc)
            else:
                messages.success(request, _("Contact added."))
                return redirect("reporting-organisation", org.pk)
    day = timezone.localdate()
    (row,) = rates.for_day([org], day)
    return render(
        request,
        "reporting/organisation_detail.html",
        {
            "org": org,
            "row": row,
            "day": day,
            "slots": [(s, Slot(s).label) for s in declarations.slots_for(org)],
            "contacts": list(org.contacts.select_related("user")),
            "contact_form": contact_form if request.user.has_perm(MANAGE_ORGS) else None,
            "can_members": request.user.has_perm(VIEW_MEMBERS),
            "can_declare": request.user.has_perm(DECLARE),
            "can_import": request.user.has_perm(MANAGE_MEMBERS),
            "can_applications": request.user.has_perm(VIEW_APPLICATIONS),
            "over_cap": applications.over_cap(org, day),
        },
        status=422 if contact_form.errors else 200,
    )


# --- members ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_MEMBERS)
    org = get_visible(request.user, Organisation, pk)
    queryset = Member.objects.visible_to(request.user).filter(organisation=org, active=True)
    # A search by full ID number is posted (never in a URL) and found by the blind index.
    search = (request.POST.get("q") or "").strip()[:40] if request.method == "POST" else ""
    shown_search = ""
    if search:
        try:
            normalised = identity.normalize_id_number(search)
            queryset = queryset.filter(id_number_index=id_index(normalised))
            shown_search = identity.mask_id_number(normalised)
        except ValidationError:
            queryset = queryset.filter(name__icontains=search)
            shown_search = search
    page = page_of(request, queryset.order_by("department", "pk"))
    answer = render(
        request,
        "reporting/member_list.html",
        {"org": org, "page": page, "query": query_without_page(request), "search": shown_search},
    )
    answer["Cache-Control"] = "no-store"
    return answer


@require_http_methods(["GET", "POST"])
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, VIEW_MEMBERS)
    member = get_visible(request.user, Member.objects.select_related("organisation__area"), pk)
    revealed: dict[str, str] = {}
    link_url = ""
    if request.method == "POST":
        if request.POST.get("action") == "link":
            require(request.user, MANAGE_MEMBERS)
            try:
                _link, token = declarations.issue_link(request.user, member)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                link_url = request.build_absolute_uri(
                    reverse("reporting-member-link", args=[token])
                )
        else:
            form = forms.RevealForm(request.POST)
            if form.is_valid():
                field = form.cleaned_data["field"]
                revealed[field] = organisations.reveal(
                    request.user, member, field, form.cleaned_data["reason"]
                )
    answer = render(
        request,
        "reporting/member_detail.html",
        {
            "member": member,
            "org": member.organisation,
            "revealed": revealed,
            "link_url": link_url,
            "can_reveal": request.user.has_perm(REVEAL_MEMBERS),
            "can_link": request.user.has_perm(MANAGE_MEMBERS),
            "declarations": list(member.declarations.order_by("-day", "-slot")[:14]),
        },
    )
    answer["Cache-Control"] = "no-store"
    return answer


@require_http_methods(["GET", "POST"])
def member_import(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, MANAGE_MEMBERS)
    org = get_visible(request.user, Organisation, pk)
    form = forms.MemberImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            form.add_error("file", _("The file is larger than 20 MB."))
        else:
            report = members.import_members(request.user, org, upload.name, upload.read())
    return render(
        request,
        "reporting/member_import.html",
        {"org": org, "form": form, "report": report, "columns": members.TEMPLATE_HEADER},
        status=422 if (form.errors or (report is not None and not report.ok)) else 200,
    )


# --- the grid ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def declare_grid(request: HttpRequest, pk: int) -> HttpResponse:
    """One row per member, prefilled with their last declaration; Enter confirms a row and
    moves to the next (grid.js), so a normal member costs one keystroke."""
    require(request.user, DECLARE)
    org = get_visible(request.user, Organisation.objects.select_related("area"), pk)
    day = _day(request)
    slots = declarations.slots_for(org)
    try:
        slot = int(request.GET.get("slot") or slots[0])
    except ValueError:
        slot = slots[0]
    if slot not in slots:
        raise Http404
    error = ""
    errors: dict[int, list[str]] = {}
    if request.method == "POST":
        entries = _grid_entries(request)
        if not entries:
            error = _("No row was confirmed.")
        else:
            try:
                result = declarations.declare(request.user, org, day, slot, entries)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if not result.errors:
                    messages.success(
                        request,
                        _("%(n)d declarations stored, %(f)d with fever.")
                        % {"n": result.stored, "f": result.fevers},
                    )
                    return redirect(f"{request.path}?day={day.isoformat()}&slot={slot}")
                errors = result.errors
                error = _("Nothing was stored: correct the rows marked below.")
    roster = list(
        Member.objects.visible_to(request.user)
        .filter(organisation=org, active=True)
        .order_by("department", "pk")
    )
    done = {d.member_id: d for d in org.declarations.filter(day=day, slot=slot)}
    before = declarations.previous_values(org, day, slot)
    rows = []
    for member in roster:
        current = done.get(member.pk)
        source = current or before.get(member.pk)
        typed = _typed(request, member.pk) if errors else None
        rows.append(
            {
                "member": member,
                "done": current is not None,
                "temperature": typed["t"]
                if typed
                else (source.temperature if source and source.temperature else "36.5"),
                "symptom": typed["s"]
                if typed
                else ((current.symptoms or [""])[0] if current else ""),
                "travel": typed["tr"] if typed else (source.travel if source else ""),
                "contact": (typed["c"] if typed else (current.contact_case if current else False)),
                "absence": typed["a"] if typed else (current.absence if current else ""),
                "note": typed["an"] if typed else (current.absence_note if current else ""),
                "errors": errors.get(member.pk, []),
            }
        )
    answer = render(
        request,
        "reporting/declare_grid.html",
        {
            "org": org,
            "day": day,
            "slot": slot,
            "slots": [(s, Slot(s).label) for s in slots],
            "rows": rows,
            "reported": len(done),
            "symptoms": list(SYMPTOMS.items()),
            "absences": [(a.value, a.label) for a in Absence if a.value],
            "error": error,
        },
        status=422 if error else 200,
    )
    answer["Cache-Control"] = "no-store"
    return answer


def _typed(request: HttpRequest, member_id: int) -> dict[str, Any]:
    post = request.POST
    return {
        "t": post.get(f"t-{member_id}", ""),
        "s": post.get(f"s-{member_id}", ""),
        "tr": post.get(f"tr-{member_id}", ""),
        "c": post.get(f"c-{member_id}") == "1",
        "a": post.get(f"a-{member_id}", ""),
        "an": post.get(f"an-{member_id}", ""),
    }


def _grid_entries(request: HttpRequest) -> list[Entry]:
    entries = []
    for raw in request.POST.getlist("ok")[:5000]:
        if not raw.isdigit():
            continue
        member_id = int(raw)
        typed = _typed(request, member_id)
        entries.append(
            Entry(
                member_id=member_id,
                temperature=typed["t"].strip() or None,
                symptoms=[typed["s"]] if typed["s"] else [],
                travel=typed["tr"][:200],
                contact_case=typed["c"],
                absence=typed["a"],
                absence_note=typed["an"][:200],
            )
        )
    return entries


# --- the member's phone link --------------------------------------------------------------


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def member_link(request: HttpRequest, token: str) -> HttpResponse:
    """No account: the token is the credential and names the member. A forged token is "not
    found"; an expired or replaced one says so, without saying whose it was."""
    try:
        link = declarations.resolve_link(token)
    except declarations.LinkInvalid as exc:
        raise Http404 from exc
    except declarations.LinkExpired:
        return render(request, "reporting/link_expired.html", status=410)
    form = forms.MemberDeclarationForm(request.POST or None)
    done = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = declarations.declare_by_link(
                token,
                Entry(
                    member_id=0,
                    temperature=data["temperature"],
                    symptoms=data["symptoms"],
                    travel=data["travel"],
                    contact_case=data["contact_case"],
                ),
            )
        except declarations.LinkExpired:
            return render(request, "reporting/link_expired.html", status=410)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            if result.errors:
                for reasons in result.errors.values():
                    form.add_error(None, reasons)
            else:
                done = True
                form = forms.MemberDeclarationForm()
    return render(
        request,
        "reporting/member_link.html",
        {
            "form": form,
            "name": link.member.masked_name,
            "org": link.member.organisation,
            "expires": link.expires_at,
            "own": declarations.own_declarations(link),
            "done": done,
        },
        status=422 if form.errors else 200,
    )


# --- helpers -----------------------------------------------------------------------------


def _day(request: HttpRequest) -> date:
    text = request.GET.get("day") or ""
    today = timezone.localdate()
    try:
        day = date.fromisoformat(text) if text else today
    except ValueError:
        return today
    return day if date(2020, 1, 1) <= day <= today else today


def _errors_into(form: Any, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
        form.add_error(field if field in form.fields else None, errors)
