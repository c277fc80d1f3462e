"""Rectification orders (整改): a finding becomes an order to the community responsible for
the checkpoint, delivered as an alert through the notification engine; the community answers
(done, a photo and a note); the operator re-checks on video, side by side with the evidence,
and closes the order or sends it back. Overdue orders raise an alert of their own
(`alert_kinds.check_overdue`).

Each change is one transaction with its audit entry; the alert's own announcement runs on
commit (the engine's `after_change`).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.alerts import rules
from shouwang.alerts.models import Alert, AlertEntry
from shouwang.alerts.services.alerting import Trigger, clear, note_on_alert, raise_alerts
from shouwang.core import audit, crypto
from shouwang.core.kinds import Severity
from shouwang.core.models import Area, AreaKind
from shouwang.core.permissions import Actor, require, require_area
from shouwang.patrol.alert_kinds import (
    PATROL_SETTINGS,
    RECTIFICATION,
    RECTIFICATION_OVERDUE,
    order_title,
)
from shouwang.patrol.models import (
    PHOTO_CONTEXT,
    Camera,
    Finding,
    OrderStatus,
    RectificationOrder,
    Snapshot,
    SnapshotSource,
)
from shouwang.patrol.perms import ANSWER_ORDERS, RECHECK_ORDERS
from shouwang.patrol.services import snapshots


def responsible_community(area: Area) -> Area:
    """The community (居委/村委) at or above the area: the one an order goes to."""
    if area.kind == AreaKind.COMMUNITY:
        return area
    found = (
        Area.objects.filter(path__in=area.ancestor_paths(), kind=AreaKind.COMMUNITY)
        .order_by("-depth")
        .first()
    )
    # A checkpoint straight under a town (no community): the town answers for it.
    return found or area


def settings_for(area: Area) -> dict[str, float]:
    params = rules.RuleBook([PATROL_SETTINGS]).resolve(PATROL_SETTINGS, area.path).params
    return {k: float(v) for k, v in params.items()}


def issue(actor: Actor, finding: Finding) -> RectificationOrder:
    """Inside the finding's transaction: the order, and its alert to the community."""
    checkpoint = finding.checkpoint
    community = responsible_community(checkpoint.area)
    now = timezone.now()
    hours = settings_for(community)["deadline_hours"]
    order = RectificationOrder.objects.create(
        finding=finding, community=community, issued_at=now, deadline=now + timedelta(hours=hours)
    )
    severity = Severity.CRITICAL if finding.severity >= 3 else Severity.WARNING
    (alert,) = raise_alerts(
        [
            Trigger(
                kind=RECTIFICATION,
                subject=f"rectification:{order.pk}",
                at=now,
                title=order_title(order),
                area=community,
                severity=severity,
                data={
                    "order": order.pk,
                    "finding": finding.pk,
                    "category": finding.category,
                    "deadline": order.deadline.isoformat(),
                },
            )
        ]
    )
    RectificationOrder.objects.filter(pk=order.pk).update(alert=alert)
    order.alert = alert
    audit.record(
        "patrol.order_issue",
        actor=actor,
        target=order,
        area=community,
        details={"finding": finding.pk, "deadline": order.deadline.isoformat()},
    )
    return order


def _locked(actor: Actor, order: RectificationOrder, perm: str) -> RectificationOrder:
    require(actor, perm)
    require_area(actor, order.community.path)
    return (
        RectificationOrder.objects.select_for_update()
        .select_related("community", "finding__checkpoint__area")
        .get(pk=order.pk)
    )


def _note(order: RectificationOrder, actor: Actor, text: str, step: str) -> None:
    if order.alert_id is None:
        return
    alert = Alert.objects.get(pk=order.alert_id)
    note_on_alert(
        alert,
        AlertEntry.Kind.COMMENTED,
        timezone.now(),
        actor=actor,
        text=text[:2000],
        data={"order": order.pk, "step": step},
    )


def answer(
    actor: Actor, order: RectificationOrder, note: str, photo: bytes | None
) -> RectificationOrder:
    """The community says it is fixed: a note, and a photo (checked to be a whole image)."""
    note = " ".join((note or "").split())[:500]
    if not note:
        raise ValidationError({"note": [_("Say what was done.")]})
    kind = None
    if photo:
        if len(photo) > snapshots.MAX_IMAGE_BYTES:
            raise ValidationError({"photo": [_("The photo is too large.")]})
        kind = snapshots.image_type(photo)
        if kind is None or not snapshots.whole_image(photo):
            raise ValidationError({"photo": [_("This file is not a JPEG or PNG image.")]})
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, order, ANSWER_ORDERS)
        if locked.status != OrderStatus.OPEN:
            raise ValidationError(_("This order is not waiting for rectification."))
        locked.status = OrderStatus.ANSWERED
        locked.answered_at, locked.answered_by = now, actor
        locked.answer_note = note
        if photo and kind:
            locked.answer_photo = crypto.encrypt_bytes(photo, PHOTO_CONTEXT)
            locked.answer_photo_type = kind
        locked.save()
        audit.record(
            "patrol.order_answer",
            actor=actor,
            target=locked,
            area=locked.community,
            details={"photo": bool(photo), "late": locked.answered_at > locked.deadline},
        )
        _note(locked, actor, note, "answered")
    return locked


def recheck(actor: Actor, order: RectificationOrder, camera: Camera) -> Snapshot | None:
    """A new snapshot of the checkpoint for the re-check, from one of its cameras; None when
    the camera is offline (the order is unchanged)."""
    require(actor, RECHECK_ORDERS)
    require_area(actor, order.community.path)
    if camera.checkpoint_id != order.finding.checkpoint_id:
        raise Http404
    if camera.source != SnapshotSource.HTTP:
        raise ValidationError(_("This camera's snapshots are uploaded, not fetched."))
    taken = snapshots.refresh(None, [camera]).get(camera.pk)
    if taken is None:
        return None
    with transaction.atomic():
        locked = _locked(actor, order, RECHECK_ORDERS)
        if locked.status == OrderStatus.CLOSED:
            raise ValidationError(_("This order is already closed."))
        locked.recheck = taken
        locked.save(update_fields=["recheck"])
    return taken


def close(actor: Actor, order: RectificationOrder, note: str = "") -> RectificationOrder:
    """Fixed, as seen on video: closed, its alerts resolved."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, order, RECHECK_ORDERS)
        if locked.status != OrderStatus.ANSWERED:
            raise ValidationError(_("Only an order the community has answered can be closed."))
        if locked.recheck_id is None or (
            locked.answered_at is not None
            and Snapshot.objects.get(pk=locked.recheck_id).taken_at < locked.answered_at
        ):
            raise ValidationError(_("Take a re-check snapshot after the answer first."))
        locked.status = OrderStatus.CLOSED
        locked.closed_at, locked.closed_by = now, actor
        locked.save()
        audit.record("patrol.order_close", actor=actor, target=locked, area=locked.community)
        why = " ".join(note.split())[:500] or _("Re-checked on video and closed.")
        subject = f"rectification:{locked.pk}"
        clear(subject, RECTIFICATION, now, why)
        clear(subject, RECTIFICATION_OVERDUE, now, why)
    return locked


def send_back(actor: Actor, order: RectificationOrder, note: str) -> RectificationOrder:
    """Not fixed, as seen on video: back to the community, counted against its score."""
    note = " ".join((note or "").split())[:500]
    if not note:
        raise ValidationError({"note": [_("Say what is still wrong.")]})
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(actor, order, RECHECK_ORDERS)
        if locked.status != OrderStatus.ANSWERED:
            raise ValidationError(_("Only an order the community has answered can be sent back."))
        locked.status = OrderStatus.OPEN
        locked.returns += 1
        locked.return_note = note
        locked.save()
        audit.record(
            "patrol.order_return",
            actor=actor,
            target=locked,
            area=locked.community,
            details={"returns": locked.returns},
        )
        # An occurrence of the same alert: the community's console and channels hear again.
        raise_alerts(
            [
                Trigger(
                    kind=RECTIFICATION,
                    subject=f"rectification:{locked.pk}",
                    at=now,
                    title=order_title(locked),
                    area=locked.community,
                    severity=Severity.WARNING,
                    data={"order": locked.pk, "returned": note},
                )
            ]
        )
    return locked
