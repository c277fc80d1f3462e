"""Return-to-work applications (复工复产申请): submitted → under review → approved, or
returned with reasons → resubmitted → under review again.

Every change is one action: permission and scope first, then a conditional UPDATE from the
state it expects (so two reviewers clicking at once decide once, and any other transition is
refused), an `ApplicationEvent` for the history and an audit entry, in one transaction.
Uploaded materials are PDF, JPEG or PNG, judged by their first bytes (not by name or the
browser's word), each at most `MAX_BYTES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.permissions import require
from shouwang.core.scoping import get_visible
from shouwang.reporting.models import (
    Absence,
    Application,
    ApplicationEvent,
    AppState,
    Declaration,
    Material,
    Organisation,
)
from shouwang.reporting.perms import APPLY, REVIEW

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 10
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
OPEN = (AppState.SUBMITTED, AppState.UNDER_REVIEW, AppState.RETURNED)


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


def sniff(content: bytes) -> str | None:
    for magic, kind in SIGNATURES:
        if content.startswith(magic):
            return kind
    return None


def _check_uploads(uploads: Sequence[Upload]) -> list[tuple[Upload, str]]:
    if len(uploads) > MAX_FILES:
        raise ValidationError({"materials": [_("At most %(n)d files.") % {"n": MAX_FILES}]})
    checked = []
    for upload in uploads:
        if len(upload.content) > MAX_BYTES:
            raise ValidationError(
                {"materials": [_("%(name)s is larger than 5 MB.") % {"name": upload.name[:60]}]}
            )
        kind = sniff(upload.content)
        if kind is None:
            raise ValidationError(
                {
                    "materials": [
                        _("%(name)s is not a PDF, JPEG or PNG file.") % {"name": upload.name[:60]}
                    ]
                }
            )
        checked.append((upload, kind))
    return checked


def _clean_figures(plan: str, total: Any, returning: Any) -> tuple[str, int, int]:
    errors: dict[str, list[str]] = {}
    plan = (plan or "").strip()
    if len(plan) < 10:
        errors["plan"] = [_("Describe the prevention plan (at least 10 characters).")]
    try:
        total_n, returning_n = int(total), int(returning)
    except (TypeError, ValueError):
        errors["headcount_total"] = [_("Headcounts are whole numbers.")]
        raise ValidationError(errors) from None
    if total_n < 1 or returning_n < 0:
        errors["headcount_total"] = [_("Headcounts are whole numbers.")]
    elif returning_n > total_n:
        errors["headcount_returning"] = [_("More people returning than employed.")]
    if errors:
        raise ValidationError(errors)
    return plan[:5000], total_n, returning_n


def _store(application: Application, uploads: Sequence[tuple[Upload, str]]) -> None:
    now = timezone.now()
    Material.objects.bulk_create(
        Material(
            application=application,
            name=upload.name[:120],
            content_type=kind,
            size=len(upload.content),
            content=upload.content,
            uploaded_at=now,
        )
        for upload, kind in uploads
    )


def submit(
    actor: Any,
    org: Organisation,
    plan: str,
    total: Any,
    returning: Any,
    uploads: Sequence[Upload] = (),
) -> Application:
    require(actor, APPLY)
    org = get_visible(actor, Organisation.objects.select_related("area"), org.pk)
    plan, total_n, returning_n = _clean_figures(plan, total, returning)
    checked = _check_uploads(uploads)
    now = timezone.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                organisation=org,
                plan=plan,
                headcount_total=total_n,
                headcount_returning=returning_n,
                submitted_at=now,
                first_submitted_at=now,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            _store(application, checked)
            _event(application, "", AppState.SUBMITTED, actor, now)
    except IntegrityError as exc:
        raise ValidationError(
            _("This organisation already has an application open: continue that one.")
        ) from exc
    return application


def _event(
    application: Application, old: str, new: str, actor: Any, at: Any, reason: str = ""
) -> None:
    ApplicationEvent.objects.create(
        application=application,
        from_state=old,
        to_state=new,
        by=actor if getattr(actor, "pk", None) else None,
        at=at,
        reason=reason,
    )
    audit.record(
        f"reporting.application_{new}",
        actor=actor,
        target=application,
        area=application.organisation.area,
        details={"from": old, "reason": reason[:200]},
    )


def _move(
    actor: Any,
    application: Application,
    old: AppState,
    new: AppState,
    reason: str = "",
    **values: Any,
) -> Application:
    """The conditional UPDATE: only from `old`; anything else is an illegal transition."""
    now = timezone.now()
    with transaction.atomic():
        changed = Application.objects.filter(pk=application.pk, state=old).update(
            state=new, **values
        )
        if changed != 1:
            raise ValidationError(
                _("This application is %(state)s: it cannot be %(action)s.")
                % {
                    "state": AppState(
                        Application.objects.values_list("state", flat=True).get(pk=application.pk)
                    ).label,
                    "action": AppState(new).label,
                },
                code="illegal_transition",
            )
        application.refresh_from_db()
        _event(application, old, new, actor, now, reason)
    return application


def _reviewable(actor: Any, application: Application) -> Application:
    require(actor, REVIEW)
    return get_visible(
        actor, Application.objects.select_related("organisation__area"), application.pk
    )


def start_review(actor: Any, application: Application) -> Application:
    application = _reviewable(actor, application)
    return _move(
        actor,
        application,
        AppState.SUBMITTED,
        AppState.UNDER_REVIEW,
        reviewer=actor if getattr(actor, "pk", None) else None,
    )


def approve(
    actor: Any, application: Application, cap: int | None = None, conditions: str = ""
) -> Application:
    application = _reviewable(actor, application)
    if cap is not None and cap < 1:
        raise ValidationError({"cap": [_("A headcount cap is at least 1.")]})
    return _move(
        actor,
        application,
        AppState.UNDER_REVIEW,
        AppState.APPROVED,
        conditions,
        cap=cap,
        conditions=conditions.strip()[:300],
        decided_at=timezone.now(),
    )


def send_back(actor: Any, application: Application, reason: str) -> Application:
    application = _reviewable(actor, application)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say what must change before it can be approved.")]})
    return _move(
        actor,
        application,
        AppState.UNDER_REVIEW,
        AppState.RETURNED,
        reason[:500],
        decided_at=timezone.now(),
    )


def resubmit(
    actor: Any,
    application: Application,
    plan: str,
    total: Any,
    returning: Any,
    uploads: Sequence[Upload] = (),
) -> Application:
    require(actor, APPLY)
    application = get_visible(
        actor, Application.objects.select_related("organisation__area"), application.pk
    )
    plan, total_n, returning_n = _clean_figures(plan, total, returning)
    checked = _check_uploads(uploads)
    with transaction.atomic():
        moved = _move(
            actor,
            application,
            AppState.RETURNED,
            AppState.SUBMITTED,
            plan=plan,
            headcount_total=total_n,
            headcount_returning=returning_n,
            submitted_at=timezone.now(),
            decided_at=None,
        )
        _store(moved, checked)
    return moved


def queue(actor: Any) -> list[Application]:
    """Applications waiting for a decision, the longest waiting first."""
    require(actor, REVIEW)
    return list(
        Application.objects.visible_to(actor)
        .filter(state__in=[AppState.SUBMITTED, AppState.UNDER_REVIEW])
        .select_related("organisation__area", "reviewer")
        .order_by("submitted_at", "pk")
    )


def decision_hours(actor: Any, since: date | None = None) -> float | None:
    """The median time from (re)submission to decision, in hours, over the decisions of the
    last 30 days in the actor's areas."""
    since = since or timezone.localdate() - timedelta(days=30)
    decided = Application.objects.visible_to(actor).filter(
        decided_at__isnull=False, decided_at__date__gte=since
    )
    spans = [
        (a.decided_at - a.submitted_at).total_seconds() / 3600
        for a in decided.only("decided_at", "submitted_at")
        if a.decided_at is not None
    ]
    return round(median(spans), 1) if spans else None


def over_cap(org: Organisation, day: date) -> tuple[int, int] | None:
    """(present, cap) when the approved application's headcount cap is exceeded by the
    day's declarations (members declared present), else None."""
    approved = (
        Application.objects.filter(organisation=org, state=AppState.APPROVED, cap__isnull=False)
        .order_by("-decided_at")
        .first()
    )
    if approved is None or approved.cap is None:
        return None
    present = (
        Declaration.objects.filter(organisation=org, day=day)
        .filter(Q(absence="") | Q(absence=Absence.PRESENT))
        .values("member_id")
        .distinct()
        .count()
    )
    return (present, approved.cap) if present > approved.cap else None
