"""Pages for staff. Thin: parse the request, call a service, render."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shouwang.core import home as home_sections
from shouwang.core import identity, roles, searches
from shouwang.core.forms import (
    HouseholdFilterForm,
    PeopleFilterForm,
    PersonForm,
    RevealForm,
    RosterImportForm,
)
from shouwang.core.models import Area, AreaKind, Household, Person, Role, RosterUpload, UploadStatus
from shouwang.core.paging import page_of, query_without_page
from shouwang.core.permissions import get_visible, require
from shouwang.core.services import areas as area_service
from shouwang.core.services import exports, roster, roster_uploads
from shouwang.core.services import people as people_service
from shouwang.core.services.address_search import address_filter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """One page per role: what this person's work starts from."""
    user: Any = request.user
    if user.role == Role.GATE_GUARD:
        # A guard's whole job is the gate: no detour through a page of area cards.
        return redirect("gate")
    if user.role == Role.PROPERTY_OFFICE:
        # The property office is here for its door alerts: straight to the live console.
        return redirect("alert-console")
    top = area_service.visible_roots(user)
    context: dict[str, Any] = {"role": user.role or ("platform_admin" if user.is_superuser else "")}
    if user.has_perm(roles.VIEW_AREAS):
        # Operators and admins start one level down: the communities they oversee.
        if user.role in (Role.TOWN_OPERATOR, Role.PLATFORM_ADMIN) or user.is_superuser:
            shown = list(
                Area.objects.visible_to(user).filter(kind=AreaKind.COMMUNITY).order_by("path")
            )
        else:
            shown = top
        counts = area_service.subtree_counts(shown, user)
        context["areas"] = [(a, counts[a.pk]) for a in shown]
        context["totals"] = {
            "households": sum(c["households"] for c in counts.values()),
            "residents": sum(c["residents"] for c in counts.values()),
        }
    else:
        context["areas"] = [(a, None) for a in top]
    context["search_form"] = PeopleFilterForm()
    context["sections"] = home_sections.render_sections(request)
    return render(request, "core/home.html", context)


@require_GET
def area_tree(request: HttpRequest) -> HttpResponse:
    require(request.user, roles.VIEW_AREAS)
    # Down to compounds: buildings and units are browsed on the compound's page.
    areas = list(Area.objects.visible_to(request.user).filter(kind__lte=AreaKind.COMPOUND))
    counts = area_service.subtree_counts(areas, request.user)
    base = min((a.depth for a in areas), default=1)
    rows = [(a, a.depth - base, counts[a.pk]) for a in areas]
    return render(request, "core/area_tree.html", {"rows": rows})


@require_GET
def area_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, roles.VIEW_AREAS)
    area = get_visible(request.user, Area, pk)
    children = list(
        Area.objects.visible_to(request.user).filter(
            path__startswith=area.path, depth=area.depth + 1
        )
    )
    counts = area_service.subtree_counts([area, *children], request.user)
    households = page_of(
        request,
        Household.objects.visible_to(request.user)
        .filter(area=area)
        .annotate(resident_count=Count("residents"))
        .order_by("door"),
    )
    names = area_service.ancestor_names([area])
    # Only the areas the user works in: a guard of one compound is not told the names above it.
    mine = set(
        Area.objects.visible_to(request.user)
        .filter(path__in=area.ancestor_paths())
        .values_list("path", flat=True)
    )
    trail = [(p, names[p][0]) for p in area.ancestor_paths() if p in names and p in mine]
    return render(
        request,
        "core/area_detail.html",
        {
            "area": area,
            "children": [(c, counts[c.pk]) for c in children],
            "counts": counts[area.pk],
            "households": households,
            "trail": trail,
        },
    )


def _scoped_area(request: HttpRequest, area_id: int | None) -> Area | None:
    if not area_id:
        return None
    area: Area = get_visible(request.user, Area, area_id)
    return area


@require_GET
def household_list(request: HttpRequest) -> HttpResponse:
    require(request.user, roles.VIEW_HOUSEHOLDS)
    form = HouseholdFilterForm(request.GET)
    form.is_valid()
    queryset = Household.objects.visible_to(request.user).select_related("area")
    area = _scoped_area(request, form.cleaned_data.get("area"))
    if area is not None:
        queryset = queryset.filter(area__path__startswith=area.path)
    if form.cleaned_data.get("q"):
        queryset = queryset.filter(address_filter(request.user, form.cleaned_data["q"]))
    # Meta.ordering does not apply to GROUP BY queries: order explicitly for stable pages.
    page = page_of(
        request,
        queryset.annotate(resident_count=Count("residents")).order_by("area__path", "door"),
    )
    names = area_service.ancestor_names([h.area for h in page])
    rows = [(h, area_service.address_of(h.area, names)) for h in page]
    return render(
        request,
        "core/household_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "area": area,
            "query_string": query_without_page(request),
        },
    )


@require_GET
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, roles.VIEW_HOUSEHOLDS)
    household = get_visible(request.user, Household.objects.select_related("area"), pk)
    names = area_service.ancestor_names([household.area])
    residents = household.residents.prefetch_related("tags")
    return render(
        request,
        "core/household_detail.html",
        {
            "household": household,
            "residents": residents,
            "address": area_service.address_of(household.area, names, from_kind=AreaKind.COMMUNITY),
        },
    )


def _people_queryset(
    request: HttpRequest, form: PeopleFilterForm
) -> tuple[QuerySet[Person], Area | None]:
    queryset: QuerySet[Person] = Person.objects.visible_to(request.user).select_related(
        "household__area"
    )
    area = _scoped_area(request, form.cleaned_data.get("area"))
    if area is not None:
        queryset = queryset.filter(household__area__path__startswith=area.path)
    if form.cleaned_data.get("tag"):
        queryset = queryset.filter(tags=form.cleaned_data["tag"])
    query = (
        searches.recall(request, form.cleaned_data.get("s"))
        or (form.cleaned_data.get("q") or "").strip()
    )
    if query:
        queryset = people_service.search(queryset, query)
    return queryset.prefetch_related("tags"), area


@require_http_methods(["GET", "POST"])
def person_list(request: HttpRequest) -> HttpResponse:
    require(request.user, roles.VIEW_RESIDENTS)
    if request.method == "POST":
        # Searches are posted, then redirected to a URL that names them by an id only.
        refused = searches.refused(request)
        if refused is not None:
            return refused
        posted = PeopleFilterForm(request.POST)
        posted.is_valid()
        params = {key: posted.cleaned_data.get(key) for key in ("tag", "area")}
        return searches.redirect_posted(
            request,
            texts={"s": posted.cleaned_data.get("q") or ""},
            params={key: str(getattr(v, "pk", v)) if v else None for key, v in params.items()},
        )
    # A search names people (an ID or phone number, a name): it is posted, never taken from the
    # URL, where proxies, history and logs keep it. `?q=` is dropped, not echoed.
    dropped = searches.without_text_in_url(request, ["q"])
    if dropped is not None:
        return dropped
    form = PeopleFilterForm(request.GET)
    form.is_valid()
    queryset, area = _people_queryset(request, form)
    page = page_of(request, queryset)
    names = area_service.ancestor_names([p.household.area for p in page])
    rows = [(p, area_service.address_of(p.household.area, names)) for p in page]
    return render(
        request,
        "core/person_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "area": area,
            "can_export": request.user.has_perm(roles.EXPORT),
            "can_reveal": request.user.has_perm(roles.REVEAL),
            "query_string": query_without_page(request),
            "search_text": _shown_search(request),
        },
    )


def _shown_search(request: HttpRequest) -> str:
    """What to put back in the search box: a name as typed, an ID or phone number masked."""
    text = searches.recall(request, request.GET.get("s"))
    if not people_service.is_identifying(text):
        return text
    try:
        return identity.mask_id_number(identity.normalize_id_number(text))
    except ValidationError:
        return identity.mask_phone(text.replace(" ", ""))


@require_http_methods(["GET", "POST"])
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, roles.VIEW_RESIDENTS)
    person = get_visible(request.user, Person.objects.select_related("household__area"), pk)
    revealed: dict[str, str] = {}
    if request.method == "POST":
        form = RevealForm(request.POST)
        if form.is_valid():
            field = form.cleaned_data["field"]
            revealed[field] = people_service.reveal(
                request.user, person, field, form.cleaned_data["reason"]
            )
    names = area_service.ancestor_names([person.household.area])
    return render(
        request,
        "core/person_detail.html",
        {
            "person": person,
            "revealed": revealed,
            "address": area_service.address_of(
                person.household.area, names, from_kind=AreaKind.COMMUNITY
            ),
            "can_reveal": request.user.has_perm(roles.REVEAL),
            "tags": list(person.tags.all()),
        },
    )


@require_http_methods(["GET", "POST"])
def roster_import(request: HttpRequest) -> HttpResponse:
    require(request.user, roles.IMPORT)
    if request.method == "POST":
        form = RosterImportForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            staged = roster_uploads.stage(
                request.user, form.cleaned_data["area"], upload.name, upload.read()
            )
            return redirect("roster-upload", token=staged.token)
    else:
        form = RosterImportForm(user=request.user)
    return render(request, "core/roster_import.html", {"form": form})


def _own_upload(request: HttpRequest, token: str) -> RosterUpload:
    # Only the uploader sees an upload (it is their file), and only inside their areas.
    upload = (
        RosterUpload.objects.visible_to(request.user)
        .select_related("area")
        .filter(actor_id=request.user.pk, token=token)
        .first()
    )
    if upload is None:
        raise Http404
    return upload


@require_GET
def roster_upload(request: HttpRequest, token: str) -> HttpResponse:
    require(request.user, roles.IMPORT)
    upload = _own_upload(request, token)
    report = roster.ImportReport.from_dict(upload.report) if upload.report else None
    busy = upload.status in (UploadStatus.QUEUED, UploadStatus.READING, UploadStatus.IMPORTING)
    status = 422 if upload.status in (UploadStatus.REFUSED, UploadStatus.FAILED) else 200
    return render(
        request,
        "core/roster_upload.html",
        {"upload": upload, "report": report, "busy": busy, "UploadStatus": UploadStatus},
        status=status,
    )


@require_POST
def roster_upload_confirm(request: HttpRequest, token: str) -> HttpResponse:
    require(request.user, roles.IMPORT)
    upload = _own_upload(request, token)
    try:
        roster_uploads.confirm(request.user, upload)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("roster-upload", token=upload.token)


@require_POST
def roster_upload_cancel(request: HttpRequest, token: str) -> HttpResponse:
    require(request.user, roles.IMPORT)
    roster_uploads.cancel(request.user, _own_upload(request, token))
    messages.info(request, _("The upload was cancelled and the file deleted."))
    return redirect("roster-import")


@require_GET
def roster_template(request: HttpRequest) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in roster.template_rows():
        writer.writerow(row)
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="roster-template.csv"'
    return response


@require_POST
def person_export(request: HttpRequest) -> HttpResponse:
    require(request.user, roles.EXPORT)
    form = PeopleFilterForm(request.POST)
    form.is_valid()
    queryset, _area = _people_queryset(request, form)
    unmasked = request.POST.get("unmasked") == "1"
    if unmasked and not request.user.has_perm(roles.REVEAL):
        raise PermissionDenied
    try:
        data = roster.export_people(
            request.user, queryset, unmasked=unmasked, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{reverse('person-list')}?{request.POST.get('back', '')}")
    response = HttpResponse(data, content_type=XLSX)
    name = exports.file_name("residents", unmasked)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def redirect_home(request: HttpRequest) -> HttpResponse:
    return redirect("home")


def _person_form_data(form: PersonForm, person: Person | None) -> people_service.PersonData:
    data = form.cleaned_data
    id_number = data["id_number"] or (person.id_number if person else None)
    phone = data["phone"] or (person.phone if person else None)
    return people_service.PersonData.clean(data["name"], id_number, phone, data["tags"])


def _save_person(
    request: HttpRequest, form: PersonForm, household: Household, person: Person | None
) -> Person | None:
    """Run the action; a validation error lands on the form's fields instead of a 500."""
    try:
        data = _person_form_data(form, person)
        if person is None:
            return people_service.create_person(request.user, household, data)
        return people_service.update_person(request.user, person, data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    return None


@require_http_methods(["GET", "POST"])
def person_add(request: HttpRequest, household_pk: int) -> HttpResponse:
    require(request.user, roles.EDIT_RESIDENTS)
    household = get_visible(request.user, Household.objects.select_related("area"), household_pk)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = _save_person(request, form, household, None)
        if person is not None:
            messages.success(request, _("Resident added."))
            return redirect("household-detail", pk=household.pk)
    return render(request, "core/person_form.html", {"form": form, "household": household})


@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, roles.EDIT_RESIDENTS)
    person = get_visible(request.user, Person.objects.select_related("household__area"), pk)
    initial = {"name": person.name, "tags": list(person.tags.all())}
    form = PersonForm(request.POST or None, initial=initial)
    saved = request.method == "POST" and form.is_valid()
    if saved and _save_person(request, form, person.household, person) is not None:
        messages.success(request, _("Resident updated."))
        return redirect("person-detail", pk=person.pk)
    return render(
        request,
        "core/person_form.html",
        {"form": form, "household": person.household, "person": person},
    )
