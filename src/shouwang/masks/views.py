"""Screens: the resident's reservation page (no account) and the staff's counts per point.
Thin: parse, call a service, render."""

from __future__ import annotations

import secrets
from typing import cast

from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shouwang.core.middleware import client_ip
from shouwang.core.models import User
from shouwang.core.scoping import get_visible
from shouwang.core.services.people import id_index
from shouwang.masks.forms import ReserveForm
from shouwang.masks.models import ReservationStatus, Round, RoundPoint
from shouwang.masks.perms import HAND_OUT, VIEW_ROUNDS
from shouwang.masks.services import limits, pickup
from shouwang.masks.services import reserve as reserving
from shouwang.masks.services.pickup import PickupRefused
from shouwang.masks.services.reserve import Applicant, Refused
from shouwang.passes.views import qr_svg


def _points(round_: Round) -> list[RoundPoint]:
    return list(
        RoundPoint.objects.filter(round=round_, point__active=True)
        .select_related("point")
        .order_by("point__name")
    )


@login_not_required
def open_rounds(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rounds = Round.objects.filter(closes_at__gt=now).order_by("opens_at")[:20]
    return render(request, "masks/open.html", {"rounds": rounds, "now": now})


@login_not_required
def reserve(request: HttpRequest, pk: int) -> HttpResponse:
    round_ = Round.objects.filter(pk=pk).first()
    if round_ is None:
        raise Http404
    points = _points(round_)
    refusal: Refused | None = None
    status = 200
    if request.method == "POST":
        form = ReserveForm(points, request.POST)
        if not limits.allow_ip(client_ip(request)):
            refusal = Refused(
                Refused.RATE, _("Too many attempts from this network; wait a minute.")
            )
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                applicant = Applicant.clean(data["name"], data["id_number"], data["phone"])
                if not limits.allow_id(id_index(applicant.id_number)):
                    raise Refused(
                        Refused.RATE, _("Too many attempts with this ID number; wait a minute.")
                    )
                done = reserving.reserve(round_.pk, data["stock"], applicant, data["key"])
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        for error in errors:
                            form.add_error(field, error)
                else:
                    form.add_error(None, exc)
                status = 422
            except Refused as exc:
                refusal = exc
                status = 429 if exc.code == Refused.RATE else 409
            else:
                return redirect("masks-reservation", token=done.token)
        else:
            status = 422
        points = _points(round_)  # the counts as they are now
    else:
        form = ReserveForm(points, initial={"key": secrets.token_urlsafe(24)})
    return render(
        request,
        "masks/reserve.html",
        {"round": round_, "form": form, "refusal": refusal, "points": points},
        status=status,
    )


@login_not_required
def reservation(request: HttpRequest, token: str) -> HttpResponse:
    found = reserving.reservation_for_link(token)
    if found is None:
        raise Http404
    qr = ""
    if found.status == ReservationStatus.RESERVED:
        qr = qr_svg(pickup.qr_code(found))
    return render(request, "masks/reservation.html", {"r": found, "token": token, "qr": qr})


@login_not_required
@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    if reserving.cancel(token) is None:
        raise Http404
    return redirect("masks-reservation", token=token)


@permission_required(VIEW_ROUNDS, raise_exception=True)
def round_list(request: HttpRequest) -> HttpResponse:
    """Counts per point and round, for the points inside the user's areas."""
    stocks = (
        RoundPoint.objects.visible_to(request.user)
        .select_related("round", "point")
        .order_by("-round__opens_at", "round_id", "point__name")
    )
    return render(request, "masks/rounds.html", {"stocks": stocks})


@permission_required(HAND_OUT, raise_exception=True)
def hand_out(request: HttpRequest, pk: int) -> HttpResponse:
    """The point's phone page: scan or type a code, see whose it is, hand the masks over."""
    actor = cast(User, request.user)
    stock = get_visible(actor, RoundPoint.objects.select_related("round", "point__area"), pk)
    context: dict[str, object] = {"stock": stock, "code": ""}
    status = 200
    if request.method == "POST":
        code = request.POST.get("code", "")[:800]
        context["code"] = code
        try:
            if request.POST.get("confirm"):
                context["done"] = pickup.hand_out(actor, stock, code)
                context["code"] = ""
            else:
                context["found"] = pickup.find(actor, stock, code)
        except PickupRefused as exc:
            context["refusal"] = exc
            status = 409
        stock.refresh_from_db()
    return render(request, "masks/hand_out.html", context, status=status)
